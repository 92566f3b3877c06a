"""TFEAT: TagFeature (Chen, Xu, Tsang and Luo, "Using tag-level features for image annotation",
IEEE TMM 2012), in the form of the tag-relevance survey of Li, Uricchio, Ballan, Bertini, Snoek
and Del Bimbo (ACM CSUR 2016) and its jingwei toolkit, which the KDGAN authors ran
(`../shared/reference/tagrec-baselines-facts.md` §3, §6).

  1. Stage 1: for the `num_feature_tags` most frequent training tags (all K when fewer), train
     negative-bagging linear SVMs on the visual feature and Platt-calibrate them
     (`kdgan_tf.tagrec.linear.bagged_svms`). An image's "tag feature" is its vector of stage-1
     probabilities, l1-normalised.
  2. Stage 2: for every tag, train negative-bagging linear SVMs on [visual feature,
     tag_feature_scale * tag feature] (unscaled, scale 1, in the survey), Platt-calibrate them;
     the score of (image, tag) is that probability.

Negative bagging (facts §3): each of `bags` bags holds the tag's positives (a random
`max_positives` of them when there are more) and min(|pool|, max(min_negatives,
neg_pos_ratio * n+)) random images without the tag; each bag's SVM is liblinear `-s 2 -B -1`
(L2-regularised squared hinge, primal, no bias) with cost C and the authors' class weights,
solved to liblinear's stopping rule (`tol` is its eps); a tag's decision value is the uniform
mean over its bags; Platt's sigmoid is fitted on bag 0's examples (in-sample, as the authors).

Choices and deviations, written down:
  * The authors' own TFEAT run commented the tag feature out and trained the per-tag bagged SVMs
    on the visual feature alone; `use_tag_feature=False` reproduces that (stage 2 only).
  * Stage-2 training features of TRAINING images are cross-fitted when `cross_fit` (default): the
    training set is split at random into two halves, the stage-1 models of each half give the
    tag feature of the other half, so no training image's tag feature comes from models fitted
    on its own labels (in-sample stage-1 probabilities would be over-confident on exactly the
    training labels stage 2 learns from). Test images get the mean of the two halves' stage-1
    probabilities (same training-set size behind them as for training images), then
    l1-normalised. An average of two models is less extreme than one model's output, so test
    tag features are somewhat smoother than training ones. `cross_fit=False` fits stage 1 once on all training images and uses its
    in-sample probabilities for training images too (the survey's recipe).
  * Only the linear (`fastlinear`) SVM is implemented, not the histogram-intersection-kernel one
    (`fik`); facts §6 allows this simplification.
  * Scores are the full probabilities for all K tags; the authors' top-10 truncation (facts §3,
    "Apply") is left to the evaluation.
  * Bag sampling is seeded (`seed`); the authors' was not.
  * C is searched on the validation split.

Cost: stage 1 (two half-size fits when cross-fitted) plus stage 2 on D + F features; every fit
solves (tags x bags) SVMs as one batched problem (`linear.solve_squared_hinge`). Measured on a
synthetic Corel5k-size problem (4,500 x 250 binary features, 374 tags, 3.5 tags per image) on a
shared 2-core CPU: about 5 min for the default (cross-fitted) model, about 1.8 min with
`use_tag_feature=False`.
"""
import gin
import numpy as np

from kdgan_tf.errors import UserError
from kdgan_tf.tagrec import linear
from kdgan_tf.tagrec.base import TagRecommender


def l1_normalise(p, eps=1e-12):
  """Rows scaled to sum 1 (all-zero rows stay zero), float64."""
  p = np.asarray(p, dtype=np.float64)
  return p / np.maximum(np.abs(p).sum(axis=1, keepdims=True), eps)


@gin.configurable
class TagFeature(TagRecommender):
  """Two-stage TagFeature: Platt-calibrated negative-bagging linear SVMs on [visual, tag
  feature]."""

  name = "tfeat"

  def __init__(self, C=1.0, bags=10, neg_pos_ratio=1.0, max_positives=1000, min_negatives=1000,
               num_feature_tags=400, use_tag_feature=True, tag_feature_scale=1.0,
               cross_fit=True, fit_bias=False, seed=0, max_iter=100, tol=0.01,
               dtype="float32"):
    if C <= 0 or int(bags) < 1 or int(num_feature_tags) < 1:
      raise UserError(f"TagFeature: need C > 0, bags >= 1, num_feature_tags >= 1; got C={C}, "
                       f"bags={bags}, num_feature_tags={num_feature_tags}.")
    self.C, self.bags, self.neg_pos_ratio = float(C), int(bags), float(neg_pos_ratio)
    self.max_positives, self.min_negatives = max_positives, int(min_negatives)
    self.num_feature_tags, self.use_tag_feature = int(num_feature_tags), bool(use_tag_feature)
    self.tag_feature_scale, self.cross_fit = float(tag_feature_scale), bool(cross_fit)
    self.fit_bias, self.seed = bool(fit_bias), int(seed)
    self.max_iter, self.tol, self.dtype = int(max_iter), float(tol), dtype

  def _bagged(self, x, y, seed):
    return linear.bagged_svms(
        x, y, C=self.C, bags=self.bags, neg_pos_ratio=self.neg_pos_ratio,
        max_positives=self.max_positives, min_negatives=self.min_negatives,
        fit_bias=self.fit_bias, seed=seed, tol=self.tol, max_iter=self.max_iter, dtype=self.dtype)

  def _with_tag_feature(self, x, tag_feature):
    return np.concatenate([np.asarray(x, np.float32),
                           (self.tag_feature_scale * tag_feature).astype(np.float32)], axis=1)

  def fit(self, x, y):
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y) > 0
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
      raise UserError(f"TagFeature.fit: x {x.shape} and y {y.shape} must be [N, D] and [N, K].")
    self.stage1_ = []
    if self.use_tag_feature:
      counts = y.sum(axis=0)
      order = np.argsort(-counts, kind="stable")  # most frequent first, ties by tag index
      self.feature_tags_ = np.sort(order[:min(self.num_feature_tags, y.shape[1])])
      y1 = y[:, self.feature_tags_]
      if self.cross_fit:
        rng = np.random.default_rng(self.seed)
        half = np.zeros(len(x), dtype=bool)
        half[rng.permutation(len(x))[:len(x) // 2]] = True
        probs = np.zeros((len(x), y1.shape[1]))
        for fold, rows in enumerate((half, ~half)):
          model = self._bagged(x[rows], y1[rows], self.seed + 1 + fold)
          probs[~rows] = linear.bagged_probability(model, x[~rows])
          self.stage1_.append(model)
      else:
        self.stage1_.append(self._bagged(x, y1, self.seed + 1))
        probs = linear.bagged_probability(self.stage1_[0], x)
      x = self._with_tag_feature(x, l1_normalise(probs))
    self.stage2_ = self._bagged(x, y, self.seed + 3)
    return self

  def tag_feature(self, x):
    """The l1-normalised stage-1 probabilities [M, F] of new images."""
    probs = np.mean([linear.bagged_probability(m, x) for m in self.stage1_], axis=0)
    return l1_normalise(probs)

  def score(self, x):
    x = np.asarray(x, dtype=np.float32)
    if self.use_tag_feature:
      x = self._with_tag_feature(x, self.tag_feature(x))
    return linear.bagged_probability(self.stage2_, x).astype(np.float64)
