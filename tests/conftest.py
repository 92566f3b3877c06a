"""Shared fixtures: tiny generated data only; the suite never needs ../shared or a network."""
import os
import subprocess
import sys

import numpy as np
import pytest

import kdgan_tf  # noqa: F401  (sets the Keras backend)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_GIN = os.path.join(REPO, "gin_configs", "tiny_smoke.gin")


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory):
  """A Keras-layout MNIST-shaped .npz with 400 train / 100 test images whose class is the
  position of a bright square (learnable in a few steps)."""
  rng = np.random.RandomState(0)

  def make(count):
    y = rng.randint(0, 10, size=count).astype(np.uint8)
    x = (rng.rand(count, 28, 28) * 60).astype(np.uint8)
    for i, label in enumerate(y):
      r, c = divmod(int(label), 5)
      x[i, 4 + 10 * r: 10 + 10 * r, 1 + 5 * c: 5 + 5 * c] = 255
    return x, y

  x_train, y_train = make(400)
  x_test, y_test = make(100)
  path = tmp_path_factory.mktemp("data") / "tiny_mnist.npz"
  np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
  return str(path)


def run_cli(args, env=None, timeout=300):
  """Runs `python -m kdgan_tf.train ARGS` and returns the CompletedProcess."""
  full_env = dict(os.environ, **(env or {}))
  full_env.setdefault("PYTHONPATH", REPO)
  return subprocess.run([sys.executable, "-m", "kdgan_tf.train", *args], capture_output=True,
                        text=True, env=full_env, timeout=timeout, cwd=REPO)
