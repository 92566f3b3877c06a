"""Platt calibration of decision values into probabilities (Platt 1999; the Newton method
with backtracking of Lin, Lin and Weng 2007, libsvm's `sigmoid_train`).

Why apart: the linear-SVM baselines (`kdgan_tf.tagrec.linear`) and RelExample
(`kdgan_tf.tagrec.relexample`) both calibrate per-tag decision values with it; it is pure
NumPy and has nothing to do with how the decision values were found.
"""
import numpy as np


def platt_probability(f, A, B):
  """p = 1 / (1 + exp(A f + B)), computed without overflow; A, B broadcast against f (one per
  tag, i.e. the last axis). Returns float64."""
  t = np.asarray(f, dtype=np.float64) * np.asarray(A, dtype=np.float64) + np.asarray(B, np.float64)
  e = np.exp(-np.abs(t))
  return np.where(t >= 0, e / (1.0 + e), 1.0 / (1.0 + e))


def fit_platt(decision_values, labels, mask=None, max_iter=100, min_step=1e-10, sigma=1e-12,
              eps=1e-5):
  """Platt's sigmoid fitted by the Newton method with backtracking of Lin, Lin and Weng (MLJ
  2007; libsvm's `sigmoid_train`, the authors' `jw/model_based/svms/find_ab.py`), for every
  column (tag) at once.

  decision_values: [N, K]; labels: [N, K], positive where > 0; mask: bool [N, K], which examples
  each tag's fit uses (all when None). Targets are (n+ + 1)/(n+ + 2) for positives and
  1/(n- + 2) for negatives. Returns float64 (A [K], B [K]) for `platt_probability`."""
  f = np.asarray(decision_values, dtype=np.float64)
  if f.ndim == 1:
    f = f[:, None]
  pos = np.asarray(labels).reshape(f.shape) > 0
  m = np.ones(f.shape, bool) if mask is None else np.asarray(mask, bool).reshape(f.shape)
  f = np.where(m, f, 0.0)
  mf = m.astype(np.float64)
  prior1 = (pos & m).sum(axis=0).astype(np.float64)
  prior0 = (~pos & m).sum(axis=0).astype(np.float64)
  t = np.where(pos, ((prior1 + 1.0) / (prior1 + 2.0))[None, :], (1.0 / (prior0 + 2.0))[None, :])

  def objective(a, b):
    fab = f * a + b
    # t * fab + log(1 + exp(-fab)), stable for both signs.
    return (mf * (t * fab + np.logaddexp(0.0, -fab))).sum(axis=0)

  A = np.zeros(f.shape[1])
  B = np.log((prior0 + 1.0) / (prior1 + 1.0))
  fval = objective(A, B)
  active = np.ones(f.shape[1], bool)
  for _ in range(max_iter):
    p = platt_probability(f, A, B)  # 1 / (1 + exp(fApB))
    d2 = mf * p * (1.0 - p)
    h11 = sigma + (f * f * d2).sum(axis=0)
    h22 = sigma + d2.sum(axis=0)
    h21 = (f * d2).sum(axis=0)
    d1 = mf * (t - p)
    g1 = (f * d1).sum(axis=0)
    g2 = d1.sum(axis=0)
    active &= ~((np.abs(g1) < eps) & (np.abs(g2) < eps))
    if not active.any():
      break
    det = h11 * h22 - h21 * h21
    dA = -(h22 * g1 - h21 * g2) / det
    dB = -(-h21 * g1 + h11 * g2) / det
    gd = g1 * dA + g2 * dB
    step = np.ones_like(A)
    pending = active.copy()
    while pending.any():
      new_f = objective(A + step * dA, B + step * dB)
      ok = pending & (new_f < fval + 1e-4 * step * gd)
      A = np.where(ok, A + step * dA, A)
      B = np.where(ok, B + step * dB, B)
      fval = np.where(ok, new_f, fval)
      pending &= ~ok
      step = np.where(pending, 0.5 * step, step)
      failed = pending & (step < min_step)
      active &= ~failed  # libsvm: "Line search fails", stop that tag
      pending &= ~failed
  return A, B
