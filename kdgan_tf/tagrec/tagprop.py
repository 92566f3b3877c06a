"""TPROP: TagProp, weighted nearest-neighbour tag propagation with per-tag sigmoids.

Reference: M. Guillaumin, T. Mensink, J. Verbeek, C. Schmid, "TagProp: Discriminative metric
learning in nearest neighbor models for image auto-annotation", ICCV 2009.

The model (paper section 2): for image i and tag w,

  x_iw = sum_{k<=K} pi_ik * yhat(n_k(i), w),   yhat = 1 - eps if the k-th nearest training image
                                                n_k(i) carries w, else eps,
  p(y_iw = 1) = sigmoid(alpha_w * x_iw + beta_w)    (sigmoids=True: "word-specific logistic
                                                     discriminant"), or p = x_iw (sigmoids=False).

The weights pi_ik are either rank-based (pi_ik = gamma_k, shared by all images and tags) or
distance-based (pi_ik = softmax_k(-lambda * d_ik) over the K neighbours, d = cosine distance).
All parameters maximise the (optionally class-balanced) log-likelihood of the training tags,
where each training image's neighbours are the K nearest OTHER training images (leave-one-out).
The authors' Table 2 run used LEAR's TagProp 0.2, variant `ranksigmoids`, class-balanced
("weighted"), K in {10, 50, 100, 500} (reference/tagrec-baselines-facts.md section 2).

Choices where the paper (or the authors' MATLAB code) leaves room, or where this port simplifies:
* Neighbours: cosine similarity on the raw features via `base.cosine_neighbours` (ties broken by
  the lower training index). Fitting excludes each training image from its own list (explicit
  leave-one-out by index, not "drop the first column"); `score` uses the K nearest training
  images with no exclusion.
* Rank weights: gamma = softmax(theta) over the K ranks, so gamma_k > 0 and sum_k gamma_k = 1;
  theta starts at 0 (uniform weights, i.e. plain K-NN voting). Since sum_k pi_ik = 1 in both
  weightings, x_iw = eps + (1 - 2 eps) * sum_k pi_ik [n_k(i) has w] lies in [eps, 1 - eps].
* Distance weights: lambda = exp(log_lambda), starting at lambda = 1 (near-uniform for cosine
  distances in [0, 2]). One scalar lambda (the paper's metric-learning variant with several base
  distances is not used: only one feature).
* Sigmoids: alpha_w = exp(a_w) > 0 (more neighbours carrying w never lowers p(w); the paper does
  not constrain alpha), beta_w unconstrained; start at alpha_w = 1, beta_w = 0.
* Learning: the authors alternate projected gradient (linear model) and conjugate-gradient
  logistic regressions; here all parameters (theta or log_lambda, a, b) are learned JOINTLY by
  full-batch Adam (constant step size) on the same weighted negative log-likelihood, for at most
  `iterations` steps, stopping early after 20 steps without a relative NLL improvement above
  `tolerance`; the iterate with the lowest NLL is kept. Full-batch and zero-initialised, so the
  fit is deterministic on CPU (and on GPU under `enable_op_determinism`, which the evaluate
  command turns on: segment sums are atomic otherwise); `seed` is kept for the interface (no random numbers are drawn).
* Class balancing (the authors' `weighted` option): weight 1/n_pos on every positive entry of the
  N x T training tag matrix and 1/n_neg on every negative entry, normalised to sum 1 (i.e. half the
  mean positive NLL plus half the mean negative NLL). Unbalanced: the mean over all entries.
* Memory/speed: the N x K x T neighbour-tag tensor is never built. Since Y is sparse, the training
  neighbours are stored as a list of "votes", one per (image i, rank k, tag w carried by n_k(i)):
  E = N * K * (mean tags per image) entries, two int32 each (rank or flat (i, k) index, flat (i, w)
  index), built in row blocks. x is one gather of the weights plus one sorted segment sum; the
  hand-written adjoint is one gather plus a bincount over ranks (rank weighting) or a scatter into
  [N, K] (distance weighting): O(E) per step instead of the O(N*K*T) of a dense accumulation over k.
  `score` accumulates over k with gathers of Y[NN[:, k]] (memory M x T).
  Measured on a shared 2-core CPU, synthetic N = 20,000, D = 64, K = 500, T = 200, 5.1 tags per
  image (E = 5.2e7, about 420 MB of indices): leave-one-out K-NN about 50 s, the default fit
  (300 rank-weighted Adam steps) 5.7 min in all (about 1 s per step; distance about 2 s per step),
  scoring 2,000 images about 7 s.
"""
import gin
import numpy as np
import tensorflow as tf

from kdgan_tf.errors import UserError
from kdgan_tf.tagrec.base import TagRecommender, cosine_neighbours

WEIGHTINGS = ("rank", "distance")
PATIENCE = 20  # early stopping: steps without a relative NLL improvement above `tolerance`


@gin.configurable
class TagProp(TagRecommender):
  """TagProp (Guillaumin et al., ICCV 2009); see the module docstring for the choices made.

  Args:
    k: number of nearest training neighbours K (searched on validation; paper grid 10..500).
    weighting: "rank" (learned gamma_k per rank) or "distance" (softmax of -lambda * distance).
    sigmoids: learn per-tag alpha_w, beta_w with p = sigmoid(alpha_w x + beta_w); else p = x.
    class_balanced: weight positive / negative training entries by 1/n_pos and 1/n_neg.
    epsilon: yhat for a neighbour without / with the tag is eps / 1 - eps.
    iterations: maximum number of full-batch Adam steps.
    learning_rate: Adam step size.
    tolerance: stop after 20 steps without an NLL improvement above tolerance * |NLL| (0 disables
      early stopping).
    seed: accepted for interface uniformity; the fit draws no random numbers.

  After `fit`: `train_neighbours_` [N, K] (leave-one-out), `weights_` (gamma [K] for rank
  weighting), `lambda_` (distance weighting), `alpha_`, `beta_` [T] (with sigmoids),
  `nll_history_` (training NLL at the initial parameters, then after each step; the last entry is
  the NLL of the parameters kept).
  """

  name = "tprop"

  def __init__(self, k=100, weighting="rank", sigmoids=True, class_balanced=True, epsilon=1e-5,
               iterations=300, learning_rate=0.05, tolerance=1e-6, seed=0):
    if isinstance(k, bool) or int(k) != k or k < 1:
      raise UserError(f"TagProp: k must be a positive integer, got {k!r}.")
    if weighting not in WEIGHTINGS:
      raise UserError(f"TagProp: unknown weighting {weighting!r}; expected one of {WEIGHTINGS}.")
    if not 0.0 < epsilon < 0.5:
      raise UserError(f"TagProp: epsilon must lie in (0, 0.5), got {epsilon!r}.")
    if int(iterations) != iterations or iterations < 0:
      raise UserError(f"TagProp: iterations must be a non-negative integer, got {iterations!r}.")
    if not learning_rate > 0:
      raise UserError(f"TagProp: learning_rate must be positive, got {learning_rate!r}.")
    if not tolerance >= 0:
      raise UserError(f"TagProp: tolerance must be non-negative, got {tolerance!r}.")
    self.k = int(k)
    self.weighting = weighting
    self.sigmoids = bool(sigmoids)
    self.class_balanced = bool(class_balanced)
    self.epsilon = float(epsilon)
    self.iterations = int(iterations)
    self.learning_rate = float(learning_rate)
    self.tolerance = float(tolerance)
    self.seed = seed

  # ------------------------------------------------------------------------------------------
  # Fitting.

  def fit(self, x, y):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
      raise UserError(f"TagProp.fit: x [N, D] and y [N, T] must share N; got shapes {x.shape} "
                       f"and {y.shape}.")
    n, t = y.shape
    if self.k > n - 1:
      raise UserError(f"TagProp: k = {self.k} neighbours but only {n} training images "
                       f"({n - 1} candidates per image with leave-one-out); need k <= {n - 1}.")
    if n * max(self.k, t) >= 2 ** 31:
      raise UserError(f"TagProp: N * max(K, T) = {n * max(self.k, t)} overflows int32 indices.")
    self.train_tags_ = (y > 0)
    nn, sims = cosine_neighbours(x, x, self.k, exclude_self=True)
    self.train_neighbours_ = nn
    nll, mix, a, b = self._objective(nn, sims, self.train_tags_)
    rank = self.weighting == "rank"
    variables = [mix] + ([a, b] if self.sigmoids else [])
    slots = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
    best = [tf.Variable(v) for v in variables]
    best_loss = tf.Variable(np.inf, dtype=tf.float32)
    step = tf.Variable(0.0)
    lr, beta1, beta2, adam_eps = self.learning_rate, 0.9, 0.999, 1e-8

    @tf.function
    def adam_step():
      with tf.GradientTape() as tape:
        loss = nll()
      grads = tape.gradient(loss, variables)
      better = loss < best_loss
      best_loss.assign(tf.minimum(loss, best_loss))
      for v, keep in zip(variables, best):
        keep.assign(tf.where(better, v, keep))
      step.assign_add(1.0)
      scale = lr * tf.sqrt(1.0 - beta2 ** step) / (1.0 - beta1 ** step)
      for v, g, (m, s) in zip(variables, grads, slots):
        m.assign(beta1 * m + (1.0 - beta1) * g)
        s.assign(beta2 * s + (1.0 - beta2) * g * g)
        v.assign_sub(scale * m / (tf.sqrt(s) + adam_eps))
      return loss

    history = []  # history[i]: the NLL after i steps
    reference, stale = np.inf, 0
    for _ in range(self.iterations):
      history.append(float(adam_step()))
      if history[-1] < reference - self.tolerance * abs(history[-1]):
        reference, stale = history[-1], 0
      else:
        stale += 1
        if self.tolerance > 0 and stale >= PATIENCE:
          break
    last = float(tf.function(nll)())
    if history and last > float(best_loss.numpy()):  # Adam overshot: keep the best iterate
      for v, keep in zip(variables, best):
        v.assign(keep)
      last = float(best_loss.numpy())
    history.append(last)
    self.nll_history_ = np.array(history)

    if rank:
      self.weights_ = tf.nn.softmax(tf.cast(mix, tf.float64)).numpy()
    else:
      self.lambda_ = float(np.exp(np.float64(mix.numpy())))
    if self.sigmoids:
      self.alpha_ = np.exp(a.numpy().astype(np.float64))
      self.beta_ = b.numpy().astype(np.float64)
    self.train_features_ = x
    return self

  def _objective(self, nn, sims, tags):
    """The training NLL as a function of fresh variables (theta [K] or log_lambda, log_alpha [T],
    beta [T]), all at their initial values: returns (nll, mix, log_alpha, beta)."""
    n, t = tags.shape
    dist = (1.0 - sims).astype(np.float32)
    src, tgt = self._votes(nn, tags)

    yf = tags.astype(np.float32)
    n_pos = float(yf.sum())
    n_neg = float(n * t - n_pos)
    if self.class_balanced:
      w_pos = 0.0 if n_pos == 0 else 1.0 / n_pos
      w_neg = 0.0 if n_neg == 0 else 1.0 / n_neg
      total = n_pos * w_pos + n_neg * w_neg
      w_pos, w_neg = w_pos / total, w_neg / total
    else:
      w_pos = w_neg = 1.0 / (n * t)
    c_pos = tf.constant(yf * w_pos)
    c_neg = tf.constant((1.0 - yf) * w_neg)

    eps = self.epsilon
    k = self.k
    rank = self.weighting == "rank"
    # Rank weighting gathers gamma by rank (src mod K); distance weighting gathers the flat pi.
    idx_t = tf.constant(src % k if rank else src)
    tgt_t = tf.constant(tgt)
    dist_t = tf.constant(dist)
    size = n * t
    del src, tgt

    if rank:
      mix = tf.Variable(tf.zeros([k]), name="theta")
    else:
      mix = tf.Variable(0.0, name="log_lambda")
    a = tf.Variable(tf.zeros([t]), name="log_alpha")
    b = tf.Variable(tf.zeros([t]), name="beta")

    @tf.custom_gradient
    def propagate(table):
      """Sum of the vote weights per (image, tag), flat [N*T]; O(E) with an explicit adjoint
      (a gather of the upstream gradient, then a bincount by rank or a scatter into pi)."""
      votes = tf.math.segment_sum(tf.gather(table, idx_t), tgt_t)
      votes = tf.pad(votes, [[0, size - tf.shape(votes)[0]]])

      def grad(upstream):
        g = tf.gather(upstream, tgt_t)
        if rank:
          return tf.math.bincount(idx_t, weights=g, minlength=k, maxlength=k)
        return tf.math.unsorted_segment_sum(g, idx_t, n * k)

      return votes, grad

    def nll():
      if rank:
        table = tf.nn.softmax(mix)
      else:
        table = tf.reshape(tf.nn.softmax(-tf.exp(mix) * dist_t, axis=1), [-1])
      xw = eps + (1.0 - 2.0 * eps) * tf.reshape(propagate(table), [n, t])
      if self.sigmoids:
        logit = tf.exp(a)[None, :] * xw + b[None, :]
        log_p, log_q = tf.math.log_sigmoid(logit), tf.math.log_sigmoid(-logit)
      else:
        log_p, log_q = tf.math.log(xw), tf.math.log1p(-xw)
      return -tf.reduce_sum(c_pos * log_p + c_neg * log_q)

    return nll, mix, a, b

  @staticmethod
  def _votes(nn, tags, block=1024):
    """The sparse neighbour-tag votes: for every training image i, rank k and tag w carried by
    n_k(i), one entry with source i*K + k (into the flat weights pi) and target i*T + w (into the
    flat x); entries sorted by target (so a sorted segment sum builds x). Built in row blocks."""
    n, k = nn.shape
    t = tags.shape[1]
    rows, cols = np.nonzero(tags)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    cols = cols.astype(np.int32)
    srcs, tgts = [], []
    for start in range(0, n, block):
      nb = nn[start:start + block].ravel()
      counts = indptr[nb + 1] - indptr[nb]
      total = int(counts.sum())
      src = np.repeat(np.arange(start * k, start * k + len(nb), dtype=np.int64), counts)
      first = np.repeat(indptr[nb] - (np.cumsum(counts) - counts), counts)
      w = cols[first + np.arange(total)]
      tgt = (src // k) * t + w
      order = np.argsort(tgt, kind="stable")
      srcs.append(src[order].astype(np.int32))
      tgts.append(tgt[order].astype(np.int32))
    return np.concatenate(srcs), np.concatenate(tgts)

  # ------------------------------------------------------------------------------------------
  # Scoring.

  def neighbour_weights(self, x):
    """(indices [M, K] of the K nearest training images, weights pi [M, K]) for new images."""
    if not hasattr(self, "train_tags_"):
      raise RuntimeError("TagProp: call fit before score.")
    nn, sims = cosine_neighbours(x, self.train_features_, self.k)
    if self.weighting == "rank":
      pi = np.broadcast_to(self.weights_[None, :], nn.shape)
    else:
      z = -self.lambda_ * (1.0 - sims)
      z -= z.max(axis=1, keepdims=True)
      pi = np.exp(z)
      pi /= pi.sum(axis=1, keepdims=True)
    return nn, pi

  def score(self, x):
    """p(y_w = 1 | x) [M, T] (float64) from the K nearest training images (no exclusion)."""
    nn, pi = self.neighbour_weights(x)
    tags = self.train_tags_
    votes = np.zeros((len(nn), tags.shape[1]), dtype=np.float64)
    for r in range(nn.shape[1]):
      votes += pi[:, r:r + 1] * tags[nn[:, r]]
    xw = self.epsilon + (1.0 - 2.0 * self.epsilon) * votes
    if not self.sigmoids:
      return xw
    logit = self.alpha_[None, :] * xw + self.beta_[None, :]
    return 0.5 * (1.0 + np.tanh(0.5 * logit))  # sigmoid, overflow-free
