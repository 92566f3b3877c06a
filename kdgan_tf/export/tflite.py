"""SavedModel (via `keras.export.ExportArchive`) -> TF Lite, with a parity check.

`ExportArchive` is used on purpose: wrapping a Keras 3 model in a hand-made `tf.Module` produced
SavedModels whose TF Lite conversion silently output NaN (engineering notes). The serving
signature is named: `serving_default(images: float32 [N, H, W, C] in [0, 1]) ->
{"probabilities": float32 [N, K]}`.
"""
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

SIGNATURE = "serving_default"


def export_classifier(model, export_dir):
  """Writes `model` (logits) as a SavedModel whose signature returns probabilities.

  Written next to `export_dir` first and then moved into place, so an interrupted export never
  leaves a half-written SavedModel where a good one was."""
  spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name="images")
  archive = keras.export.ExportArchive()
  archive.track(model)
  archive.add_endpoint(
      name=SIGNATURE,
      fn=lambda images: {"probabilities": tf.nn.softmax(model(images, training=False), -1)},
      input_signature=[spec])
  tmp = export_dir.rstrip("/") + ".tmp"
  shutil.rmtree(tmp, ignore_errors=True)
  archive.write_out(tmp, verbose=False)
  shutil.rmtree(export_dir, ignore_errors=True)
  os.replace(tmp, export_dir)
  return export_dir


def convert_to_tflite(saved_model_dir, tflite_path):
  """Converts the SavedModel's serving signature to a float32 TF Lite model."""
  converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir,
                                                       signature_keys=[SIGNATURE])
  data = converter.convert()
  tmp = tflite_path + ".tmp"
  with open(tmp, "wb") as f:
    f.write(data)
  os.replace(tmp, tflite_path)
  return tflite_path


def _interpreter(tflite_path, num_threads=None):
  """LiteRT's interpreter when installed (tf.lite.Interpreter is deprecated); `num_threads`
  None leaves the interpreter's default."""
  try:
    from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
  except ImportError:  # the deprecated in-TF interpreter still works
    Interpreter = tf.lite.Interpreter  # pylint: disable=invalid-name
  return Interpreter(model_path=tflite_path, num_threads=num_threads)


def tflite_predict(tflite_path, images, batch_size=500):
  """Class probabilities from the TF Lite model, [N, K]."""
  interpreter = _interpreter(tflite_path)
  runner = interpreter.get_signature_runner(SIGNATURE)
  out = []
  for start in range(0, len(images), batch_size):
    batch = np.ascontiguousarray(images[start:start + batch_size], dtype=np.float32)
    out.append(runner(images=batch)["probabilities"])
  return np.concatenate(out)


def tflite_agreement(tflite_path, model, images):
  """Fraction of images whose TF Lite and Keras top-1 predictions agree, and the max |diff|."""
  lite = tflite_predict(tflite_path, images)
  ref = tf.nn.softmax(model.predict(images, batch_size=1000, verbose=0), -1).numpy()
  agreement = float(np.mean(np.argmax(lite, -1) == np.argmax(ref, -1)))
  return agreement, float(np.max(np.abs(lite - ref)))
