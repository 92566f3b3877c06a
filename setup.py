"""kdgan-tf: KDGAN (Wang et al., NeurIPS 2018) in TensorFlow 2 / Keras 3."""
from setuptools import find_packages, setup

setup(
    name="kdgan-tf",
    version="0.1.0",
    description="KDGAN: knowledge distillation with generative adversarial networks, in TF2/Keras",
    packages=find_packages(include=["kdgan_tf", "kdgan_tf.*"]),
    package_data={"kdgan_tf": ["reference/*.json"]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.18",
        "tensorflow-probability[tf]>=0.25",
        "tf-keras>=2.18",
        "keras>=3.5",
        "tensorflow-datasets>=4.9",
        "absl-py>=2.0",
        "gin-config>=0.5",
        "tensorboard>=2.18",
        "ai-edge-litert>=1.0",
        "tqdm>=4.60",
        "numpy>=1.26",
        "matplotlib>=3.7",
    ],
    extras_require={"test": ["pytest>=8", "pytest-xdist>=3"]},
    entry_points={"console_scripts": ["kdgan-train=kdgan_tf.train:run"]},
)
