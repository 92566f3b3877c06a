"""Building blocks of the linear-SVM tag baselines TFEAT and REXMP: a batched primal solver for
the L2-regularised squared-hinge SVM (liblinear `-s 2`), the authors' class weights and
negative bagging; Platt calibration is `kdgan_tf.tagrec.platt`.

Facts on what the authors ran: `../shared/reference/tagrec-baselines-facts.md` §3, §4, §6.

Solver. Many independent problems p = 1..P share one feature matrix X [N, D]; problem p has its
own example costs c[:, p] >= 0 (0 = the example is not in the problem) and labels y[:, p] in
{-1, +1}. Each problem is

    min_w  0.5 * sum_d r_d w_d^2  +  C * sum_i c_ip * max(0, 1 - y_ip * (x_i^T w_{:D} + b))^2,

with r_d = 1 on the D feature weights and, when `fit_bias`, an extra coordinate b that is not
regularised (r = 0); liblinear `-s 2 -B -1` is `fit_bias=False`. The objective is strongly convex
in w (in b too as soon as one example is active) with a Lipschitz gradient, and it is minimised
by the finite Newton method of Mangasarian (2002) / Keerthi and DeCoste (2005), the method in
liblinear's TRON without the trust region:

  * generalised Hessian H = diag(r) + 2C X~^T diag(c * [margin violated]) X~;
  * the Newton system H d = -g is solved approximately by Jacobi-preconditioned conjugate
    gradient until ||H d + g|| <= cg_tol * ||g|| (as TRON, cg_tol = 0.1);
  * Armijo backtracking (sufficient decrease 1e-4, halving) along d from step 1;
  * a problem stops when ||g|| <= tol * ||g(0)|| (per problem; liblinear's rule is
    tol = 0.01 * max(min(n+, n-), 1) / n, see `liblinear_tolerance`).

All problems advance together: every matrix product is one [N, D] x [D, P_active] GEMM, and
converged problems are dropped from the active set (between Newton steps, and in batches within
the conjugate-gradient loop). A warm start (`init`) is accepted: negative bagging starts bags
1.. from bag 0's solution and RelExample each round from the previous one. The costs c and labels y are dense [N, P]
matrices (problems are solved in chunks of columns so that one [N, chunk] matrix stays below
`max_elements`); for the baselines' sizes (20,000 images, a few thousand problems) that is
cheaper than gathering each problem's rows, since the gathered form is matrix-vector bound.
"""
import collections

import numpy as np
import tensorflow as tf

from kdgan_tf.tagrec.platt import fit_platt
from kdgan_tf.tagrec.platt import platt_probability

LinearSolution = collections.namedtuple(
    "LinearSolution", ["weights", "bias", "iterations", "cg_iterations", "grad_norm", "grad_norm0",
                       "converged"])
LinearSolution.__doc__ = """Result of `solve_squared_hinge`: weights float64 [D, P], bias float64
[P] (zeros without `fit_bias`), iterations int [P] (Newton steps taken), cg_iterations int [P]
(conjugate-gradient steps, in all), grad_norm / grad_norm0
float64 [P] (final / initial gradient norm) and converged bool [P]."""


def class_weights(n_pos, n_neg):
  """The authors' per-class weights (`jw/model_based/negative_bagging.py`):
  w+ = 0.5 (n+ + n-) / n+,  w- = 0.5 (n+ + n-) / n-, elementwise; a class with no example gets
  weight 0 (it has nothing to weigh). Returns float64 arrays (w_pos, w_neg)."""
  n_pos = np.asarray(n_pos, dtype=np.float64)
  n_neg = np.asarray(n_neg, dtype=np.float64)
  total = 0.5 * (n_pos + n_neg)
  w_pos = np.divide(total, n_pos, out=np.zeros(np.broadcast(total, n_pos).shape), where=n_pos > 0)
  w_neg = np.divide(total, n_neg, out=np.zeros(np.broadcast(total, n_neg).shape), where=n_neg > 0)
  return w_pos, w_neg


def problem_costs(members, positive):
  """Per-example costs and labels of class-weighted problems.

  members: bool [N, P], example i is in problem p; positive: bool [N, P] (or broadcastable),
  example i is a positive of problem p. Returns (costs float32 [N, P]: w+ or w- of the problem
  for members, 0 otherwise; labels float32 [N, P] in {-1, +1})."""
  members = np.asarray(members, dtype=bool)
  positive = np.broadcast_to(np.asarray(positive, dtype=bool), members.shape)
  pos = members & positive
  n_pos = pos.sum(axis=0)
  n_neg = members.sum(axis=0) - n_pos
  w_pos, w_neg = class_weights(n_pos, n_neg)
  costs = np.where(pos, w_pos[None, :], np.where(members, w_neg[None, :], 0.0)).astype(np.float32)
  labels = np.where(positive, 1.0, -1.0).astype(np.float32)
  return costs, labels


def liblinear_tolerance(members, positive, eps=0.01):
  """liblinear's primal stopping rule for `-s 2`: ||g|| <= eps * max(min(n+, n-), 1) / n *
  ||g(0)||. Returns the relative tolerance per problem, float64 [P]."""
  members = np.asarray(members, dtype=bool)
  positive = np.broadcast_to(np.asarray(positive, dtype=bool), members.shape)
  n = members.sum(axis=0).astype(np.float64)
  n_pos = (members & positive).sum(axis=0)
  small = np.maximum(np.minimum(n_pos, n - n_pos), 1.0)
  return eps * small / np.maximum(n, 1.0)


def solve_squared_hinge(x, labels, costs, C=1.0, fit_bias=False, tol=1e-3, max_iter=100,
                        max_cg=200, cg_tol=0.1, dtype="float32", max_elements=2 ** 26,
                        init=None):
  """Solves P independent L2-regularised squared-hinge SVMs in the primal (module docstring).

  x: float [N, D], shared; labels: [N, P] in {-1, +1}; costs: [N, P] >= 0 per-example costs
  c_ip (0 = not in problem p); C: scalar; tol: relative gradient tolerance, scalar or [P].
  `dtype` is the compute precision ("float32" for speed, "float64" for tight tolerances).
  `init`: optional warm start, a `LinearSolution` (or weights [D, P]) of the same shapes; the
  stopping rule still compares with the gradient at w = 0. Returns a `LinearSolution`."""
  x = np.asarray(x)
  labels = np.asarray(labels)
  costs = np.asarray(costs)
  if x.ndim != 2 or labels.ndim != 2 or labels.shape != costs.shape or labels.shape[0] != len(x):
    raise ValueError(f"solve_squared_hinge: x {x.shape}, labels {labels.shape} and costs "
                     f"{costs.shape} do not match ([N, D], [N, P], [N, P]).")
  if np.any(costs < 0) or C <= 0:
    raise ValueError("solve_squared_hinge: costs must be >= 0 and C > 0.")
  n, d = x.shape
  p_total = labels.shape[1]
  tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), (p_total,))
  dtype = tf.as_dtype(dtype)
  xt = tf.constant(x, dtype=dtype)
  x2 = tf.square(xt)
  dp = d + int(bool(fit_bias))
  out = LinearSolution(np.zeros((dp, p_total)), None, np.zeros(p_total, np.int64),
                       np.zeros(p_total, np.int64), np.zeros(p_total), np.zeros(p_total),
                       np.zeros(p_total, bool))
  start_w = np.zeros((dp, p_total))
  if init is not None:
    init_w = init.weights if isinstance(init, LinearSolution) else np.asarray(init)
    start_w[:d] = init_w
    if fit_bias and isinstance(init, LinearSolution):
      start_w[d] = init.bias
  chunk = max(1, int(max_elements) // max(n, 1))
  for start in range(0, p_total, chunk):
    cols = slice(start, min(p_total, start + chunk))
    _newton_cg(xt, x2, labels[:, cols], costs[:, cols], float(C), bool(fit_bias), tol[cols],
               int(max_iter), int(max_cg), float(cg_tol), dtype, out, np.arange(p_total)[cols],
               start_w[:, cols])
  weights = out.weights[:d]
  bias = out.weights[d] if fit_bias else np.zeros(p_total)
  return out._replace(weights=weights, bias=bias)


def _newton_cg(x, x2, labels, costs, C, fit_bias, tol, max_iter, max_cg, cg_tol, dtype, out,
               ids, start_w):
  """Newton-CG on one chunk of problems from `start_w`; writes into `out` at columns `ids`."""
  n, d = x.shape
  dp = d + int(fit_bias)
  reg = tf.constant(np.r_[np.ones(d), np.zeros(dp - d)][:, None], dtype=dtype)  # [Dp, 1]

  def xmul(v):  # X~ v: [N, p]
    z = tf.matmul(x, v[:d])
    return z + v[d:d + 1] if fit_bias else z

  def xtmul(r, mat):  # X~^T r (or (X~ o X~)^T r): [Dp, p]
    g = tf.matmul(mat, r, transpose_a=True)
    return tf.concat([g, tf.reduce_sum(r, axis=0, keepdims=True)], 0) if fit_bias else g

  def colsum(t):
    return tf.reduce_sum(t, axis=0)

  y = tf.constant(labels, dtype=dtype)
  cc = tf.constant(costs, dtype=dtype) * C
  w = tf.constant(start_w, dtype=dtype)
  z = xmul(w)
  tol = tf.constant(tol, dtype=dtype)
  g0 = tf.norm(2.0 * xtmul(cc * y, x), axis=0)  # gradient norm at w = 0
  out.grad_norm0[ids] = g0.numpy()
  stalled = tf.zeros([len(ids)], dtype=tf.bool)
  cg_count = np.zeros(len(ids), dtype=np.int64)
  for it in range(max_iter + 1):
    xi = tf.nn.relu(1.0 - y * z)
    g = reg * w - 2.0 * xtmul(cc * y * xi, x)
    gn = tf.norm(g, axis=0)
    done = ((gn <= tol * g0) | stalled).numpy()
    if it == max_iter:
      done[:] = True
    if done.any():  # write back and drop the finished problems
      fin = ids[done]
      out.weights[:, fin] = tf.boolean_mask(w, done, axis=1).numpy()
      out.iterations[fin] = it
      out.cg_iterations[fin] = cg_count[done]
      out.grad_norm[fin] = gn.numpy()[done]
      out.converged[fin] = (gn <= tol * g0).numpy()[done]
      if done.all():
        return
      keep = ~done
      ids = ids[keep]
      w, z, y, cc, g, gn, g0, tol, xi = [tf.boolean_mask(t, keep, axis=t.shape.rank - 1)
                                         for t in (w, z, y, cc, g, gn, g0, tol, xi)]
      stalled, cg_count = tf.boolean_mask(stalled, keep), cg_count[keep]
    # Generalised Hessian on the current active set; Jacobi preconditioner.
    act = cc * tf.cast(xi > 0, dtype)
    diag = reg + 2.0 * xtmul(act, x2)
    diag = tf.where(diag > 0, diag, tf.ones_like(diag))
    step_dir, steps = _pcg(lambda v, a: reg * v + 2.0 * xtmul(a * xmul(v), x), act, diag, g, gn,
                           cg_tol, max_cg)
    cg_count += steps
    # Armijo backtracking, per problem; f(w + t d) - f(w) computed as a difference of terms.
    zd = xmul(step_dir)
    gd = colsum(g * step_dir)
    wd = colsum(reg * w * step_dir)
    dd = colsum(reg * step_dir * step_dir)
    step = tf.ones_like(gd)
    pending = tf.ones_like(gd, dtype=tf.bool)
    for _ in range(60):
      xi_t = tf.nn.relu(1.0 - y * (z + step * zd))
      change = step * wd + 0.5 * step * step * dd + colsum(cc * (xi_t - xi) * (xi_t + xi))
      pending &= ~(change <= 1e-4 * step * gd)
      if not bool(tf.reduce_any(pending)):
        break
      step = tf.where(pending, 0.5 * step, step)
    stalled = pending  # no decrease found (rounding level): stop there, not converged
    step = tf.where(pending, tf.zeros_like(step), step)
    w += step * step_dir
    z += step * zd


def _pcg(hess, act, diag, g, gn, cg_tol, max_cg):
  """Jacobi-preconditioned conjugate gradient on H d = -g for every column, until
  ||H d + g|| <= cg_tol ||g|| or max_cg steps. Columns that have finished are set aside (in
  batches, so that the gathers stay cheap) and the rest go on with narrower matrices.
  `hess(v, act)` is the Hessian-vector product with the columns' active costs `act`.
  Returns (d [Dp, p], steps int [p])."""
  def colsum(t):
    return tf.reduce_sum(t, axis=0)

  cols = np.arange(g.shape[1])
  steps = np.zeros(len(cols), dtype=np.int64)
  pieces = []
  d = tf.zeros_like(g)
  r = -g
  s = r / diag
  q = s
  rs = colsum(r * s)
  target = cg_tol * gn
  live = (gn > 0).numpy()
  for k in range(max_cg + 1):
    fin = ~live if k < max_cg else np.ones_like(live)
    if fin.any() and (fin.all() or fin.mean() >= 0.2):
      pieces.append((cols[fin], tf.boolean_mask(d, fin, axis=1)))
      if fin.all():
        break
      keep = ~fin
      cols, live = cols[keep], live[keep]
      d, r, q, act, diag = [tf.boolean_mask(t, keep, axis=1) for t in (d, r, q, act, diag)]
      rs, target = tf.boolean_mask(rs, keep), tf.boolean_mask(target, keep)
    steps[cols[live]] += 1
    hq = hess(q, act)
    qhq = colsum(q * hq)
    ok = tf.constant(live) & (qhq > 0)
    alpha = tf.where(ok, rs / tf.where(ok, qhq, tf.ones_like(qhq)), tf.zeros_like(qhq))
    d += alpha * q
    r -= alpha * hq
    live &= (tf.norm(r, axis=0) > target).numpy()
    s = r / diag
    rs_new = colsum(r * s)
    beta = tf.where(rs > 0, rs_new / tf.where(rs > 0, rs, tf.ones_like(rs)), tf.zeros_like(rs))
    q = s + beta * q
    rs = rs_new
  order = np.concatenate([c for c, _ in pieces])
  d = tf.concat([t for _, t in pieces], axis=1)
  return tf.gather(d, np.argsort(order), axis=1), steps


def decision_function(x, solution):
  """Decision values x w + b, float64 [M, P]."""
  return np.asarray(x, dtype=np.float64) @ solution.weights + solution.bias


# ----------------------------------------------------------------------------- negative bagging
def negative_bags(positives, bags=10, neg_pos_ratio=1.0, max_positives=1000, min_negatives=1000,
                  seed=0):
  """Training bags of negative bagging (`jw/model_based/generate_train_bags.py`), seeded.

  positives: 0/1 [N, T]; for each tag t and bag j (problem p = t * bags + j), the bag holds all
  of t's positives (a random `max_positives` of them, drawn per bag, when there are more) and
  n- = min(|pool|, max(min_negatives, round(neg_pos_ratio * n+))) random images not labelled t,
  drawn without replacement independently per bag. The authors used max_positives = 1000,
  neg_pos_ratio = 1 and min_negatives = 1000 (n- = max(n+, 1000)); min_negatives = 0 gives
  bags of exactly neg_pos_ratio negatives per positive.
  Returns (members bool [N, T * bags], problem_tag int [T * bags])."""
  y = np.asarray(positives) > 0
  n, num_tags = y.shape
  rng = np.random.default_rng(seed)
  members = np.zeros((n, num_tags * bags), dtype=bool)
  for t in range(num_tags):
    pos = np.flatnonzero(y[:, t])
    pool = np.flatnonzero(~y[:, t])
    for j in range(bags):
      col = t * bags + j
      chosen = pos
      if max_positives is not None and len(pos) > max_positives:
        chosen = rng.choice(pos, int(max_positives), replace=False)
      n_neg = min(len(pool), max(int(min_negatives), int(round(neg_pos_ratio * len(chosen)))))
      members[chosen, col] = True
      members[rng.choice(pool, n_neg, replace=False), col] = True
  return members, np.repeat(np.arange(num_tags), bags)


def fuse_bags(decisions, bags):
  """Uniform mean of each tag's `bags` consecutive columns: [M, T * bags] -> [M, T]."""
  decisions = np.asarray(decisions, dtype=np.float64)
  return decisions.reshape(decisions.shape[0], -1, bags).mean(axis=2)


def bagged_svms(x, positives, C=1.0, bags=10, neg_pos_ratio=1.0, max_positives=1000,
                min_negatives=1000, fit_bias=False, seed=0, tol=0.01, max_iter=100,
                dtype="float32"):
  """Negative-bagging class-weighted linear SVMs for every column of `positives` [N, T], Platt
  calibrated (the authors' `negative_bagging.py` with `fastlinear`, facts §3).

  Each bag's SVM is `solve_squared_hinge` with the class weights of `class_weights`, solved to
  liblinear's tolerance rule with eps = `tol`; bag 0 is solved first and its solution starts
  the other bags' solves (same positives, other negatives: fewer Newton steps); the tag's
  decision value is the uniform mean over its bags; Platt is fitted on bag 0's examples with
  the fused decision values (in-sample, as the authors, whose Platt data were bag 0). Returns a
  dict with "weights" [D, T], "bias" [T] (the fused linear model: the mean of linear models is
  linear), "A" [T], "B" [T], "converged" (fraction of bag SVMs that met the tolerance) and
  "iterations" (Newton steps per bag SVM)."""
  y = np.asarray(positives) > 0
  members, tag_of = negative_bags(y, bags, neg_pos_ratio, max_positives, min_negatives, seed)
  num_tags = y.shape[1]
  weights = np.zeros((np.shape(x)[1], num_tags, bags))
  bias = np.zeros((num_tags, bags))
  converged, iterations = np.zeros((num_tags, bags), bool), np.zeros((num_tags, bags), np.int64)
  start = None
  for group in ([0], list(range(1, bags))):  # bag 0 first; it warm-starts the other bags
    if not group:
      continue
    cols = (np.arange(num_tags)[:, None] * bags + np.asarray(group)[None, :]).ravel()
    pos = y[:, tag_of[cols]]
    costs, labels = problem_costs(members[:, cols], pos)
    init = None if start is None else start._replace(
        weights=np.repeat(start.weights, len(group), axis=1),
        bias=np.repeat(start.bias, len(group)))
    sol = solve_squared_hinge(x, labels, costs, C=C, fit_bias=fit_bias,
                              tol=liblinear_tolerance(members[:, cols], pos, tol),
                              max_iter=max_iter, dtype=dtype, init=init)
    del costs, labels
    weights[:, :, group] = sol.weights.reshape(-1, num_tags, len(group))
    bias[:, group] = sol.bias.reshape(num_tags, len(group))
    converged[:, group] = sol.converged.reshape(num_tags, len(group))
    iterations[:, group] = sol.iterations.reshape(num_tags, len(group))
    start = sol
  weights, bias = weights.mean(axis=2), bias.mean(axis=1)
  fused = np.asarray(x, dtype=np.float64) @ weights + bias
  A, B = fit_platt(fused, y, members[:, ::bags])
  return {"weights": weights, "bias": bias, "A": A, "B": B,
          "converged": float(converged.mean()), "iterations": iterations.ravel()}


def bagged_probability(model, x):
  """Platt probabilities [M, T] of a `bagged_svms` model."""
  f = np.asarray(x, dtype=np.float64) @ model["weights"] + model["bias"]
  return platt_probability(f, model["A"], model["B"])
