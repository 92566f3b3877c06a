"""REXMP: RelExample (Li and Snoek, "Classifying tag relevance with relevant positive and
negative examples", ACM MM 2013), as in the jingwei toolkit the KDGAN authors ran
(`../shared/reference/tagrec-baselines-facts.md` §4, §6).

For every tag t, with its training positives P_t (images tagged t) and negative pool (images
not tagged t):

  (a) Relevant positive selection. Each positive is scored twice:
      * visual consistency: the leave-one-out neighbour vote on the training set, the number of
        the image's `k_visual` cosine-nearest training images that carry t minus the expected
        number k * n_t / N (TagVote);
      * semantic field: the mean over the image's OTHER tags s of exp(-gamma * NGD(t, s)), with
        the normalised Google distance from training co-occurrence counts,
        NGD(t, s) = (max(log f_t, log f_s) - log f_ts) / (log N - min(log f_t, log f_s))
        (f_ts = 0 gives NGD = inf, a term of 0), gamma = 1.512 as the authors' toolkit.
      The two rankings of P_t are fused by Borda (each score replaced by 1 - rank / n, ties
      sharing their mean rank, weights 0.5 / 0.5). A positive with no other tag has no semantic
      score and gets its visual Borda score alone (the semantic ranking is over the positives
      that have one). NOTE: such single-tag positives are therefore spread over the whole visual
      range while fused ones bunch near 0.5, which favours them in the selection; on data where
      most images carry one vocabulary tag (YFCC) this matters. The top `num_positives` (500) are
      kept, all if fewer; ties by image index.
  (b) Negative bootstrap, `rounds` (T = 10) rounds. Round 1 trains on max(500, |pos|) random
      negatives. Each later round draws a random U from the pool, |U| = min(10000,
      max(5000, 10 |pos|), |pool|), scores it with the current ensemble, drops the top 1% of U
      (likely unlabelled positives) and takes the next max(1000, |pos|) as the round's negatives.
      A tag stops early when the mean of its positive and U error rates (decision < 0 on the
      selected positives, > 0 on U) is below 1e-4, as in the authors' `negbp.py`. Each round's
      model is a class-weighted linear SVM with cost C (liblinear `-s 2 -B -1`: L2-regularised
      squared hinge, primal, no bias; `kdgan_tf.tagrec.linear`); all tags of one round are one
      batched solve, warm-started from the tag's previous round. The ensemble is the uniform
      mean of the rounds' decision values (itself a linear model, which is what is stored).
  (c) Platt calibration (Lin, Lin and Weng) of the ensemble's decision values, fitted on up to
      500 random positives (images tagged t; the social positives, not only the selected ones)
      and max(5 * that number, 1000) random negatives (capped by the pool), in-sample on the
      training images. score = probability.

Choices and deviations, written down:
  * Negatives are the images not tagged t. The authors also excluded images carrying WordNet
    synonyms / hyponyms of t or its 100 NGD-nearest tags; no WordNet or raw tag lists are
    available here.
  * TagVote's unique-user rule and own-user exclusion need owner ids, not available; the
    neighbour vote counts the training label matrix Y (facts §0). k_visual = 1000 as the
    authors (capped at N - 1).
  * The semantic field uses the image's training labels (the authors: its WordNet-valid raw tags).
  * Only the linear SVM is implemented, not the histogram-intersection kernel (fik, 50 bins) the
    authors' bootstrap used; facts §6 allows this simplification.
  * All sampling is seeded (`seed`).
  * Scores are the full probabilities for all K tags (no top-10 truncation).
  * C is searched on the validation split.

Cost: a leave-one-out k-NN on the training set and `rounds` batched solves of K SVMs each.
Measured on a synthetic Corel5k-size problem (4,500 x 250 binary features, 374 tags, 3.5 tags
per image) on a shared 2-core CPU: about 1.5 min.
"""
import gin
import numpy as np

from kdgan_tf.errors import UserError
from kdgan_tf.tagrec import linear
from kdgan_tf.tagrec import platt
from kdgan_tf.tagrec.base import TagRecommender, cosine_neighbours


def mean_ranks(scores):
  """0-based ranks by descending score, tied scores sharing their mean rank (float64 [n])."""
  scores = np.asarray(scores, dtype=np.float64)
  order = np.argsort(-scores, kind="stable")
  ranks = np.empty(len(scores))
  sorted_scores = scores[order]
  start = 0
  while start < len(scores):
    end = start + 1
    while end < len(scores) and sorted_scores[end] == sorted_scores[start]:
      end += 1
    ranks[order[start:end]] = 0.5 * (start + end - 1)
    start = end
  return ranks


def borda(scores):
  """Borda score 1 - rank / n of each entry (higher score, higher Borda score)."""
  return 1.0 - mean_ranks(scores) / max(len(scores), 1)


def ngd_similarity(y, gamma=1.512):
  """exp(-gamma * NGD(s, t)) [K, K] from the co-occurrence counts of the 0/1 label matrix y;
  0 where two tags never co-occur (or one never occurs), diagonal set to 0."""
  y = (np.asarray(y) > 0).astype(np.float64)
  n = len(y)
  co = y.T @ y
  f = np.diag(co).copy()
  with np.errstate(divide="ignore", invalid="ignore"):
    logf = np.log(f)
    hi = np.maximum(logf[:, None], logf[None, :])
    lo = np.minimum(logf[:, None], logf[None, :])
    ngd = (hi - np.log(co)) / (np.log(n) - lo)
    sim = np.exp(-gamma * ngd)
  sim = np.where((co > 0) & np.isfinite(sim), sim, 0.0)
  np.fill_diagonal(sim, 0.0)
  return sim


@gin.configurable
class RelExample(TagRecommender):
  """Relevant positives + negative bootstrap + Platt, per tag (module docstring)."""

  name = "rexmp"

  def __init__(self, C=1.0, rounds=10, num_positives=500, k_visual=1000, gamma=1.512,
               start_negatives=500, round_negatives=1000, platt_positives=500,
               fit_bias=False, seed=0, max_iter=100, tol=0.01, dtype="float32"):
    if C <= 0 or int(rounds) < 1 or int(num_positives) < 1 or int(k_visual) < 1:
      raise UserError(f"RelExample: need C > 0, rounds, num_positives, k_visual >= 1; got "
                       f"C={C}, rounds={rounds}, num_positives={num_positives}, "
                       f"k_visual={k_visual}.")
    self.C, self.rounds, self.num_positives = float(C), int(rounds), int(num_positives)
    self.k_visual, self.gamma = int(k_visual), float(gamma)
    self.start_negatives, self.round_negatives = int(start_negatives), int(round_negatives)
    self.platt_positives, self.fit_bias, self.seed = int(platt_positives), bool(fit_bias), int(seed)
    self.max_iter, self.tol, self.dtype = int(max_iter), float(tol), dtype

  # --------------------------------------------------------------- (a) relevant positives
  def positive_scores(self, x, y):
    """Fused Borda relevance [N, K] of every (training image, tag) positive; NaN elsewhere."""
    y = np.asarray(y) > 0
    n, num_tags = y.shape
    k = min(self.k_visual, n - 1)
    yf = y.astype(np.float32)
    prior = yf.mean(axis=0)
    visual = np.zeros((n, num_tags))
    if k >= 1:
      index, _ = cosine_neighbours(x, x, k, exclude_self=True)
      for j in range(k):  # rank by rank: never an N x k x K tensor
        visual += yf[index[:, j]]
      visual -= k * prior
    sim = ngd_similarity(y, self.gamma)
    others = y.sum(axis=1) - 1.0  # other tags of the image, for each of its positives
    semantic = (yf @ sim) / np.maximum(others, 1.0)[:, None]
    fused = np.full((n, num_tags), np.nan)
    for t in range(num_tags):
      pos = np.flatnonzero(y[:, t])
      if not len(pos):
        continue
      score = borda(visual[pos, t])
      has = others[pos] > 0
      if has.any():
        score[has] = 0.5 * score[has] + 0.5 * borda(semantic[pos[has], t])
      fused[pos, t] = score
    return fused

  def select_positives(self, x, y):
    """bool [N, K]: each tag's top `num_positives` positives by fused relevance."""
    y = np.asarray(y) > 0
    fused = self.positive_scores(x, y)
    selected = np.zeros(y.shape, dtype=bool)
    for t in range(y.shape[1]):
      pos = np.flatnonzero(y[:, t])
      keep = pos[np.argsort(-fused[pos, t], kind="stable")[:self.num_positives]]
      selected[keep, t] = True
    return selected

  # --------------------------------------------------------------- (b) negative bootstrap
  def fit(self, x, y):
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y) > 0
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
      raise UserError(f"RelExample.fit: x {x.shape} and y {y.shape} must be [N, D] and [N, K].")
    n, num_tags = y.shape
    rng = np.random.default_rng(self.seed)
    selected = self.select_positives(x, y)
    self.selected_ = selected
    n_pos = selected.sum(axis=0)
    pools = [np.flatnonzero(~y[:, t]) for t in range(num_tags)]
    negatives = np.zeros((n, num_tags), dtype=bool)
    for t in range(num_tags):
      size = min(len(pools[t]), max(self.start_negatives, n_pos[t]))
      negatives[rng.choice(pools[t], size, replace=False), t] = True
    x64 = x.astype(np.float64)
    w_sum = np.zeros((x.shape[1], num_tags))
    b_sum = np.zeros(num_tags)
    models = np.zeros(num_tags, dtype=np.int64)
    ensemble = np.zeros((n, num_tags))  # mean decision value of the rounds so far
    running = np.ones(num_tags, dtype=bool)
    last_w, last_b = np.zeros((x.shape[1], num_tags)), np.zeros(num_tags)
    for r in range(self.rounds):
      if r > 0:
        negatives[:] = False
        for t in np.flatnonzero(running):
          pool = pools[t]
          u_size = min(10000, max(5000, 10 * n_pos[t]), len(pool))
          u = rng.choice(pool, u_size, replace=False)
          s = ensemble[u, t]
          err = 0.5 * ((ensemble[selected[:, t], t] < 0).mean() if n_pos[t] else 0.0) \
              + 0.5 * ((s > 0).mean() if u_size else 0.0)
          if err < 1e-4:
            running[t] = False
            continue
          order = u[np.argsort(-s, kind="stable")]
          drop = int(0.01 * u_size)
          negatives[order[drop:drop + max(self.round_negatives, n_pos[t])], t] = True
      tags = np.flatnonzero(running)
      if not len(tags):
        break
      members = selected[:, tags] | negatives[:, tags]
      positive = selected[:, tags]
      costs, labels = linear.problem_costs(members, positive)
      sol = linear.solve_squared_hinge(
          x, labels, costs, C=self.C, fit_bias=self.fit_bias,
          tol=linear.liblinear_tolerance(members, positive, self.tol), max_iter=self.max_iter,
          dtype=self.dtype, init=None if r == 0 else linear.LinearSolution(
              last_w[:, tags], last_b[tags], None, None, None, None, None))
      last_w[:, tags], last_b[tags] = sol.weights, sol.bias
      w_sum[:, tags] += sol.weights
      b_sum[tags] += sol.bias
      models[tags] += 1
      self.weights_ = w_sum / np.maximum(models, 1)
      self.bias_ = b_sum / np.maximum(models, 1)
      ensemble[:, tags] = x64 @ self.weights_[:, tags] + self.bias_[tags]
    self.rounds_ = models
    # ------------------------------------------------------------- (c) Platt calibration
    mask = np.zeros((n, num_tags), dtype=bool)
    for t in range(num_tags):
      pos = np.flatnonzero(y[:, t])
      if len(pos) > self.platt_positives:
        pos = rng.choice(pos, self.platt_positives, replace=False)
      size = min(len(pools[t]), max(5 * len(pos), 1000))
      mask[pos, t] = True
      mask[rng.choice(pools[t], size, replace=False), t] = True
    self.A_, self.B_ = platt.fit_platt(ensemble, y, mask)
    return self

  def decision_function(self, x):
    return np.asarray(x, dtype=np.float64) @ self.weights_ + self.bias_

  def score(self, x):
    return platt.platt_probability(self.decision_function(x), self.A_, self.B_)
