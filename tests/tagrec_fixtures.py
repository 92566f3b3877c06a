"""Tiny generated multi-label problems for the tag-recommendation tests (never ../shared)."""
import numpy as np


def cluster_problem(per_cluster=20, clusters=3, dim=8, seed=0, noise=0.05, scale=5.0):
  """Well-separated clusters (centres scale * e_c + 1, Gaussian noise); cluster c carries tags
  {2c, 2c+1}: the answer is known. Returns (x, y, cluster ids)."""
  rng = np.random.RandomState(seed)
  centres = np.eye(dim)[:clusters] * scale + 1.0
  ids = np.repeat(np.arange(clusters), per_cluster)
  x = centres[ids] + noise * rng.randn(len(ids), dim)
  y = np.zeros((len(ids), 2 * clusters), np.uint8)
  y[np.arange(len(ids)), 2 * ids] = 1
  y[np.arange(len(ids)), 2 * ids + 1] = 1
  return x.astype(np.float32), y, ids


def noisy_clusters(per_cluster, seed):
  """The cluster problem with closer centres (4 e_c + 1) and noise 0.3, labels float32: the
  harder variant the SVM baselines are tested on. Returns (x, y)."""
  x, y, _ = cluster_problem(per_cluster=per_cluster, seed=seed, noise=0.3, scale=4.0)
  return x, y.astype(np.float32)


def precision_at_2(scores, y):
  """Mean P@2: each test point's two tags ranked first gives 1.0."""
  from kdgan_tf.tagrec import metrics  # pylint: disable=g-import-not-at-top
  return metrics.precision_at(scores, y, 2).mean()


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
