"""Ranking measures for image tag recommendation (paper section 4.2, Table 2), in plain NumPy.

Inputs: `scores`, float [M, K], one relevance score per (test image, tag), higher = more
relevant; `labels`, 0/1 [M, K], the multi-hot true tags y of each image.

Ranking. For each image the K tags are ranked by score, descending, with a STABLE sort: among
equal scores the lower tag index ranks first (-0.0 and 0.0 are equal scores). This makes every
number below deterministic; `rank_tags` returns the order. NaN scores are an error.

Notation, per image: G = {k : y_k = 1} the set of true tags, |G| >= 1; rank i = 1..K;
rel_i in {0, 1} is 1 when the tag at rank i is in G; hits(n) = sum_{i<=n} rel_i.

Per-image measures (each function returns them as a float64 array of shape [M]); the reported
value of a measure is the plain mean over the M images (`evaluate`):

  P@N  = hits(N) / N                                   (precision at N; needs 1 <= N <= K)
  R@N  = hits(N) / |G|                                 (true recall at N)
  F@N  = 2 * P@N * R@N / (P@N + R@N), and 0 when P@N = R@N = 0
  AP   = (1/|G|) * sum_{i : rel_i = 1} hits(i) / i     (over the full ranking of K tags)
  MAP  = mean of AP
  RR   = 1 / min{i : rel_i = 1}                        (reciprocal rank of the first true tag)
  MRR  = mean of RR

The authors' evaluation (what produced the paper's Table 2: the jingwei toolkit that the
authors' code calls). Its "F-measure" does not use recall at N but R-precision, the precision
at rank |G|, the same number for every N:

  Rprec           = hits(|G|) / |G|
  F@N_authors     = 2 * P@N * Rprec / (P@N + Rprec), and 0 when P@N = Rprec = 0

F@N and F@N_authors agree only when R@N = Rprec, e.g. always when |G| = N. Both are reported,
under different keys ("F@3" and "F@3_authors"), so that neither is mistaken for the other.

An image with no true tag (|G| = 0) has no defined R@N, Rprec, AP or RR: it is an error
(`UserError`), and the split builder must drop such images before evaluation.
"""
import collections
import numbers

import numpy as np

from kdgan_tf.errors import UserError

# The paper's Table 2 columns. NOTE: the paper's F@3 / F@5 columns are the authors' variant
# (F@N_authors, built from R-precision, see the module docstring), not the true F@N; use
# TABLE2_AUTHORS_COLUMNS to compare with the published numbers.
TABLE2_COLUMNS = ("P@3", "P@5", "F@3", "F@5", "MAP", "MRR")
TABLE2_AUTHORS_COLUMNS = ("P@3", "P@5", "F@3_authors", "F@5_authors", "MAP", "MRR")


def _check_scores(scores):
  """scores as a float64 [M, K] array with M, K >= 1 and no NaN."""
  scores = np.asarray(scores)
  if scores.dtype.kind not in "biuf":
    raise UserError("tag scores must be real numbers, got an array of dtype %s" % scores.dtype)
  scores = scores.astype(np.float64)
  if scores.ndim != 2:
    raise UserError("tag scores must be a 2-D [images, tags] array, got shape %s"
                    % (scores.shape,))
  if scores.shape[0] < 1 or scores.shape[1] < 1:
    raise UserError("tag scores need at least one image and one tag, got shape %s"
                    % (scores.shape,))
  nan_rows = np.isnan(scores).any(axis=1)
  if nan_rows.any():
    raise UserError("tag scores contain NaN (%d NaN values in %d of %d images, first at image "
                    "%d): a NaN cannot be ranked; check the model or baseline that made them"
                    % (int(np.isnan(scores).sum()), int(nan_rows.sum()), scores.shape[0],
                       int(np.argmax(nan_rows))))
  return scores


def _check_labels(labels, shape):
  """labels as an int64 0/1 array of the scores' shape, every image with >= 1 true tag."""
  labels = np.asarray(labels)
  if labels.dtype.kind not in "biuf":
    raise UserError("tag labels must be 0/1 numbers, got an array of dtype %s" % labels.dtype)
  if labels.ndim != 2:
    raise UserError("tag labels must be a 2-D [images, tags] multi-hot array, got shape %s"
                    % (labels.shape,))
  if labels.shape != tuple(shape):
    raise UserError("tag labels have shape %s but scores have shape %s; they must be equal"
                    % (labels.shape, tuple(shape)))
  bad = ~((labels == 0) | (labels == 1))
  if bad.any():
    raise UserError("tag labels must be multi-hot 0/1; found %d other values (e.g. %r)"
                    % (int(bad.sum()), labels[bad][0].item()))
  labels = labels.astype(np.int64)
  empty = labels.sum(axis=1) == 0
  if empty.any():
    raise UserError("%d of %d test images have no true tag, so recall, R-precision, AP and RR "
                    "are undefined for them; the split builder must drop images without tags "
                    "(first at image %d)" % (int(empty.sum()), labels.shape[0],
                                             int(np.argmax(empty))))
  return labels


def _check_cutoff(n, num_tags):
  if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
    raise UserError("cutoff N must be an integer, got %r" % (n,))
  n = int(n)
  if n < 1 or n > num_tags:
    raise UserError("cutoff N=%d must be between 1 and the number of tags K=%d" % (n, num_tags))
  return n


def rank_tags(scores):
  """int64 [M, K]: row m lists image m's tag indices by score, descending; equal scores keep
  the lower tag index first (stable sort). Raises UserError (a ValueError) on NaN scores."""
  scores = _check_scores(scores)
  # Adding 0.0 turns -0.0 into 0.0, so the two zeros are one score everywhere.
  return np.argsort(-scores + 0.0, axis=1, kind="stable")


def _hits(scores, labels):
  """(rel [M, K], hits [M, K] cumulative, |G| [M]) for validated inputs."""
  scores = _check_scores(scores)
  labels = _check_labels(labels, scores.shape)
  order = np.argsort(-scores + 0.0, axis=1, kind="stable")
  rel = np.take_along_axis(labels, order, axis=1)
  hits = np.cumsum(rel, axis=1)
  return rel, hits, labels.sum(axis=1)


def _harmonic(a, b):
  total = a + b
  return np.where(total > 0, 2.0 * a * b / np.where(total > 0, total, 1.0), 0.0)


def _precision(hits, n):
  return hits[:, n - 1] / float(n)


def _recall(hits, num_true, n):
  return hits[:, n - 1] / num_true


def _rprec(hits, num_true):
  return hits[np.arange(hits.shape[0]), num_true - 1] / num_true


def _ap(rel, hits, num_true):
  ranks = np.arange(1, rel.shape[1] + 1, dtype=np.float64)
  return (rel * hits / ranks).sum(axis=1) / num_true


def _rr(rel):
  return 1.0 / (np.argmax(rel, axis=1) + 1.0)  # every image has a true tag (checked)


def precision_at(scores, labels, n):
  """float64 [M]: P@N = hits(N) / N per image."""
  _, hits, _ = _hits(scores, labels)
  return _precision(hits, _check_cutoff(n, hits.shape[1]))


def recall_at(scores, labels, n):
  """float64 [M]: R@N = hits(N) / |G| per image (true recall at N)."""
  _, hits, num_true = _hits(scores, labels)
  return _recall(hits, num_true, _check_cutoff(n, hits.shape[1]))


def f_measure_at(scores, labels, n):
  """float64 [M]: F@N, the harmonic mean of P@N and R@N (0 when both are 0)."""
  _, hits, num_true = _hits(scores, labels)
  n = _check_cutoff(n, hits.shape[1])
  return _harmonic(_precision(hits, n), _recall(hits, num_true, n))


def r_precision(scores, labels):
  """float64 [M]: Rprec = hits(|G|) / |G| per image (the authors' evaluation)."""
  _, hits, num_true = _hits(scores, labels)
  return _rprec(hits, num_true)


def f_measure_authors_at(scores, labels, n):
  """float64 [M]: the authors' F@N = harmonic mean of P@N and Rprec (0 when both are 0); what
  the paper's Table 2 reports as F@N."""
  _, hits, num_true = _hits(scores, labels)
  n = _check_cutoff(n, hits.shape[1])
  return _harmonic(_precision(hits, n), _rprec(hits, num_true))


def average_precision(scores, labels):
  """float64 [M]: AP = (1/|G|) sum_{i: rel_i=1} hits(i)/i over the full ranking."""
  rel, hits, num_true = _hits(scores, labels)
  return _ap(rel, hits, num_true)


def reciprocal_rank(scores, labels):
  """float64 [M]: RR = 1 / (rank of the first true tag)."""
  rel, _, _ = _hits(scores, labels)
  return _rr(rel)


def evaluate(scores, labels, cutoffs=(3, 5)):
  """Mean measures over the images, as an OrderedDict of Python floats with keys, in order:
  P@n for each cutoff, R@n..., F@n..., F@n_authors..., then Rprec, MAP, MRR."""
  rel, hits, num_true = _hits(scores, labels)
  cutoffs = tuple(cutoffs)
  if not cutoffs:
    raise UserError("evaluate needs at least one cutoff N")
  cutoffs = tuple(_check_cutoff(n, hits.shape[1]) for n in cutoffs)
  if len(set(cutoffs)) != len(cutoffs):
    raise UserError("cutoffs must be distinct, got %s" % (cutoffs,))
  precision = {n: _precision(hits, n) for n in cutoffs}
  recall = {n: _recall(hits, num_true, n) for n in cutoffs}
  rprec = _rprec(hits, num_true)
  out = collections.OrderedDict()
  for n in cutoffs:
    out["P@%d" % n] = precision[n]
  for n in cutoffs:
    out["R@%d" % n] = recall[n]
  for n in cutoffs:
    out["F@%d" % n] = _harmonic(precision[n], recall[n])
  for n in cutoffs:
    out["F@%d_authors" % n] = _harmonic(precision[n], rprec)
  out["Rprec"] = rprec
  out["MAP"] = _ap(rel, hits, num_true)
  out["MRR"] = _rr(rel)
  for key in out:
    out[key] = float(np.mean(out[key]))
  return out
