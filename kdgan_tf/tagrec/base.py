"""What every tag-recommendation baseline implements.

A baseline is fitted on the training split's inference-time features and tags (it never sees
the privileged view: Table 2's baselines are image-only) and returns one score per (image, tag);
higher means more relevant. Rankings are made from the scores by kdgan_tf/tagrec/metrics.py.
Hyperparameters searched on the validation split are constructor arguments; the evaluate
command (kdgan_tf/tagrec/evaluate.py) builds one instance per point of the search space.
"""
import numpy as np

from kdgan_tf.errors import UserError


class TagRecommender:
  """Base class: `fit(x, y)` then `score(x)`."""

  name = "base"

  def fit(self, x, y):
    """x: float [N, D] training features; y: 0/1 [N, K] training tags. Returns self."""
    raise NotImplementedError

  def score(self, x):
    """x: float [M, D]. Returns float64 [M, K] relevance scores."""
    raise NotImplementedError


def l2_normalise(x, eps=1e-12):
  """Rows scaled to unit length (zero rows stay zero), in float64: cosine similarity is then a
  dot product."""
  x = np.asarray(x, dtype=np.float64)
  norms = np.sqrt((x * x).sum(axis=1, keepdims=True))
  return x / np.maximum(norms, eps)


def cosine_neighbours(queries, references, k, exclude_self=False, block=2048):
  """Indices [M, k] of each query's k most cosine-similar references, most similar first; ties
  broken by the lower reference index (stable and documented). With `exclude_self`, queries ARE
  the references and each one's own row is skipped (leave-one-out on the training set).
  Also returns the similarities [M, k]."""
  q, r = l2_normalise(queries), l2_normalise(references)
  k = int(k)
  if k <= 0 or k > len(r) - (1 if exclude_self else 0):
    raise UserError(f"k = {k} neighbours requested from {len(r)} references.")
  index = np.empty((len(q), k), dtype=np.int64)
  sims = np.empty((len(q), k), dtype=np.float64)
  for start in range(0, len(q), block):
    s = q[start:start + block] @ r.T
    if exclude_self:
      rows = np.arange(s.shape[0])
      s[rows, start + rows] = -np.inf
    # Stable descending sort by similarity: a stable argsort of -similarity keeps the
    # lower reference index first among equal similarities.
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    index[start:start + block] = order
    sims[start:start + block] = np.take_along_axis(s, order, axis=1)
  return index, sims
