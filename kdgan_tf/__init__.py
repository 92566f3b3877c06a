"""kdgan_tf: KDGAN (Wang et al., NeurIPS 2018) in TensorFlow 2 / Keras 3.

Layout: data -> models -> losses / estimators -> trainers (one per method, one shared loop)
-> export. `python -m kdgan_tf.train --gin_file=mnist.gin --model_dir=DIR` runs an experiment.
"""
import os as _os

# Keras 3 on the TensorFlow backend; set before keras is first imported.
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
