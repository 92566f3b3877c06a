"""Tiny generated multi-label problems for the tag-recommendation tests (never ../shared)."""
import numpy as np


def cluster_problem(per_cluster=20, clusters=3, dim=8, seed=0, noise=0.05):
  """Well-separated clusters; cluster c carries tags {2c, 2c+1}: the answer is known."""
  rng = np.random.RandomState(seed)
  centres = np.eye(dim)[:clusters] * 5.0 + 1.0
  ids = np.repeat(np.arange(clusters), per_cluster)
  x = centres[ids] + noise * rng.randn(len(ids), dim)
  y = np.zeros((len(ids), 2 * clusters), np.uint8)
  y[np.arange(len(ids)), 2 * ids] = 1
  y[np.arange(len(ids)), 2 * ids + 1] = 1
  return x.astype(np.float32), y, ids


def write_corel_like_npz(path, train=120, test=30, features=20, tags=6, seed=0):
  """A file with the layout of corel5k_mulan.npz: binary features, cluster-determined tags."""
  rng = np.random.RandomState(seed)

  def make(count):
    ids = rng.randint(0, tags // 2, count)
    x = (rng.rand(count, features) < 0.1).astype(np.uint8)
    x[np.arange(count), ids] = 1  # the cluster's own blob column
    x[np.arange(count), ids + tags // 2] = 1
    y = np.zeros((count, tags), np.uint8)
    y[np.arange(count), 2 * ids] = 1
    y[np.arange(count), 2 * ids + 1] = 1
    return x, y

  x_train, y_train = make(train)
  x_test, y_test = make(test)
  img_cols = np.arange(0, features, 2).astype(np.int16)
  priv_cols = np.arange(1, features, 2).astype(np.int16)
  np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
           img_cols=img_cols, priv_cols=priv_cols,
           label_names=np.asarray([f"tag{i}" for i in range(tags)]),
           source=np.asarray("generated"), notes=np.asarray("test data"))
  return path
