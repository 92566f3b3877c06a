"""TPROP (kdgan_tf/tagrec/tagprop.py): TagProp on tiny synthetic problems with known answers."""
import numpy as np
import pytest
import tensorflow as tf

from kdgan_tf.tagrec.base import TagRecommender, cosine_neighbours
from kdgan_tf.tagrec.tagprop import TagProp


def clusters(n_train=60, n_test=30, seed=0):
  """3 well-separated clusters in 8-D; cluster c carries tags {2c, 2c+1} (6 tags)."""
  rng = np.random.RandomState(seed)
  centres = np.eye(8)[:3] * 5.0 + 1.0

  def make(count):
    c = np.arange(count) % 3
    x = centres[c] + 0.3 * rng.randn(count, 8)
    y = np.zeros((count, 6), dtype=np.int64)
    y[np.arange(count), 2 * c] = 1
    y[np.arange(count), 2 * c + 1] = 1
    return x, y, c

  return make(n_train), make(n_test)


def small_clusters(seed=0):
  """20 tight clusters of 4 points (so with leave-one-out only ranks 1..3 share the cluster);
  each cluster carries 2 of 10 tags. Learning should move the rank weights onto ranks 1..3."""
  rng = np.random.RandomState(seed)
  centres = rng.randn(20, 8)
  c = np.repeat(np.arange(20), 4)
  x = centres[c] + 0.02 * rng.randn(len(c), 8)
  tags = np.stack([rng.choice(10, 2, replace=False) for _ in range(20)])
  y = np.zeros((len(c), 10), dtype=np.int64)
  y[np.arange(len(c)), tags[c, 0]] = 1
  y[np.arange(len(c)), tags[c, 1]] = 1
  return x, y


def precision_at_2(scores, c):
  top = np.sort(np.argsort(-scores, axis=1, kind="stable")[:, :2], axis=1)
  return np.mean(np.all(top == np.stack([2 * c, 2 * c + 1], axis=1), axis=1))


def reference_nll(model, y, nn, weights):
  """Dense NumPy (float64) NLL of the sigmoid-free model for given rank weights."""
  eps = model.epsilon
  yhat = np.where(y[nn] > 0, 1 - eps, eps)  # [N, K, T]; fine at this size
  x = (weights[None, :, None] * yhat).sum(axis=1)
  pos = y > 0
  c = np.where(pos, 0.5 / pos.sum(), 0.5 / (~pos).sum())
  return -(c * np.where(pos, np.log(x), np.log(1 - x))).sum()


@pytest.mark.parametrize("weighting", ["rank", "distance"])
def test_cluster_problem_ranks_own_tags_first(weighting):
  (x, y, _), (xt, _, ct) = clusters()
  model = TagProp(k=5, weighting=weighting)
  assert model.fit(x, y) is model
  scores = model.score(xt)
  assert isinstance(model, TagRecommender) and model.name == "tprop"
  assert scores.shape == (30, 6) and scores.dtype == np.float64
  assert np.all((scores > 0) & (scores < 1))
  assert precision_at_2(scores, ct) == 1.0


def test_rank_weights_on_simplex_learned_and_nll_decreases():
  x, y = small_clusters()
  model = TagProp(k=10, sigmoids=False, iterations=200, learning_rate=0.1).fit(x, y)
  gamma = model.weights_
  assert gamma.shape == (10,)
  assert np.all(gamma >= 0) and abs(gamma.sum() - 1.0) < 1e-9
  # The first NLL is that of uniform weights (independent dense computation), the last that of
  # the learned weights; learning lowered it a lot and moved the weight onto the in-cluster ranks.
  nn = model.train_neighbours_
  uniform = reference_nll(model, y, nn, np.full(10, 0.1))
  assert model.nll_history_[0] == pytest.approx(uniform, rel=1e-4)
  assert model.nll_history_[-1] == pytest.approx(reference_nll(model, y, nn, gamma), rel=1e-4)
  assert model.nll_history_[-1] < 0.5 * model.nll_history_[0]
  assert gamma[:3].sum() > 0.9


def test_distance_weighting_learns_a_sharper_kernel():
  x, y = small_clusters()
  model = TagProp(k=10, weighting="distance", iterations=200, learning_rate=0.1).fit(x, y)
  assert model.lambda_ > 5.0  # starts at 1
  assert model.nll_history_[-1] < model.nll_history_[0]
  _, pi = model.neighbour_weights(x)
  assert np.allclose(pi.sum(axis=1), 1.0) and np.all(pi >= 0)


@pytest.mark.parametrize("weighting", ["rank", "distance"])
def test_gradient_matches_finite_differences(weighting):
  rng = np.random.RandomState(3)
  x, y = rng.randn(30, 5), (rng.rand(30, 7) < 0.3)
  model = TagProp(k=6, weighting=weighting)
  nn, sims = cosine_neighbours(x, x, 6, exclude_self=True)
  nll, mix, a, b = model._objective(nn, sims, y)
  variables = [mix, a, b]
  for v in variables:
    v.assign(np.float32(0.5) * np.asarray(rng.randn(*v.shape), np.float32))
  with tf.GradientTape() as tape:
    loss = nll()
  grads = tape.gradient(loss, variables)
  for v, g in zip(variables, grads):
    flat = np.atleast_1d(v.numpy()).copy()
    for q in range(flat.size):
      values = []
      for h in (1e-2, -1e-2):
        bumped = flat.copy()
        bumped[q] += h
        v.assign(bumped.reshape(v.shape))
        values.append(float(nll()))
      v.assign(flat.reshape(v.shape))
      numeric = (values[0] - values[1]) / 2e-2
      assert np.atleast_1d(g.numpy())[q] == pytest.approx(numeric, rel=2e-2, abs=2e-4)


def test_leave_one_out_excludes_the_point_itself():
  (x, y, _), _ = clusters()
  x = np.concatenate([x, x[7:8]])  # training point 7 duplicated once, as row 60
  y = np.concatenate([y, y[7:8]])
  model = TagProp(k=4, iterations=5).fit(x, y)
  nn = model.train_neighbours_
  assert nn.shape == (61, 4)
  assert not np.any(nn == np.arange(61)[:, None])
  assert nn[7, 0] == 60 and nn[60, 0] == 7
  # Scoring (no exclusion): a training point's nearest training image is itself (the duplicate
  # pair ties; the lower index wins).
  test_nn, _ = model.neighbour_weights(x)
  assert np.array_equal(test_nn[:60, 0], np.arange(60)) and test_nn[60, 0] == 7


def test_deterministic_with_the_same_seed():
  x, y = small_clusters()
  runs = [TagProp(k=8, iterations=60, seed=5).fit(x, y) for _ in range(2)]
  assert np.array_equal(runs[0].weights_, runs[1].weights_)
  assert np.array_equal(runs[0].alpha_, runs[1].alpha_)
  assert np.array_equal(runs[0].score(x), runs[1].score(x))
  assert not np.allclose(runs[0].weights_, 1.0 / 8)  # something was learned


def test_bad_arguments_raise_value_error():
  (x, y, _), _ = clusters()
  with pytest.raises(ValueError, match="unknown weighting 'cosine'"):
    TagProp(weighting="cosine")
  with pytest.raises(ValueError, match="k must be a positive integer"):
    TagProp(k=0)
  with pytest.raises(ValueError, match="k = 60 neighbours but only 60 training images"):
    TagProp(k=60).fit(x, y)
  with pytest.raises(ValueError, match="epsilon"):
    TagProp(epsilon=0.5)
  with pytest.raises(ValueError, match="must share N"):
    TagProp(k=3).fit(x, y[:10])
  with pytest.raises(RuntimeError, match="call fit"):
    TagProp(k=3).score(x)
  TagProp(k=59, iterations=2).fit(x, y)  # the largest valid k
