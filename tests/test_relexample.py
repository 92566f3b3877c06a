"""REXMP (kdgan_tf/tagrec/relexample.py) on tiny problems whose answer is known."""
import numpy as np

from kdgan_tf.tagrec.relexample import RelExample, borda, mean_ranks, ngd_similarity
from tagrec_fixtures import noisy_clusters as clusters, precision_at_2


def test_relexample_ranks_cluster_tags_first():
  x, y = clusters(30, seed=0)
  x_test, y_test = clusters(10, seed=1)
  model = RelExample(k_visual=10).fit(x, y)
  scores = model.score(x_test)
  assert scores.shape == (30, 6) and scores.dtype == np.float64
  assert precision_at_2(scores, y_test) == 1.0
  assert scores[y_test > 0].min() > 0.5 > scores[y_test == 0].max()
  assert (model.rounds_ >= 1).all() and (model.rounds_ <= 10).all()


def test_relexample_drops_mislabelled_positives():
  x, y = clusters(30, seed=0)
  wrong = np.arange(60, 64)  # four cluster-2 images also tagged 0 (a cluster-0 tag)
  y[wrong, 0] = 1
  model = RelExample(num_positives=30, k_visual=10)
  selected = model.select_positives(x, y)
  np.testing.assert_array_equal(np.flatnonzero(selected[:, 0]), np.arange(30))
  assert selected.sum(axis=0).tolist() == [30, 30, 30, 30, 30, 30]
  # Both views agree that the mislabelled ones are the least relevant.
  fused = model.positive_scores(x, y)
  assert fused[wrong, 0].max() < fused[:30, 0].min()
  assert np.isnan(fused[y == 0]).all()
  # With room for everyone, every positive is kept.
  everyone = RelExample(num_positives=500, k_visual=10).select_positives(x, y)
  np.testing.assert_array_equal(everyone, y > 0)
  # The fitted model still ranks cluster-0 tags first for cluster-0 images.
  x_test, y_test = clusters(10, seed=1)
  scores = model.fit(x, y).score(x_test)
  assert precision_at_2(scores, y_test) == 1.0


def test_relexample_deterministic_given_seed():
  x, y = clusters(40, seed=3)
  y[::7, 5] = 1  # noisy extra labels so that the negative sampling matters
  x_test, _ = clusters(5, seed=4)
  kwargs = dict(k_visual=10, start_negatives=20, round_negatives=20, rounds=3)
  a = RelExample(seed=5, **kwargs).fit(x, y).score(x_test)
  b = RelExample(seed=5, **kwargs).fit(x, y).score(x_test)
  c = RelExample(seed=6, **kwargs).fit(x, y).score(x_test)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_borda_and_ngd_helpers():
  np.testing.assert_allclose(mean_ranks([3.0, 1.0, 3.0, 0.0]), [0.5, 2.0, 0.5, 3.0])
  np.testing.assert_allclose(borda([2.0, 5.0]), [0.5, 1.0])
  # 4 images; tags 0 and 1 always together, tag 2 alone once, tag 3 never.
  y = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
  sim = ngd_similarity(y, gamma=1.512)
  assert sim[0, 1] == sim[1, 0] == 1.0  # NGD = 0 for tags that always co-occur
  assert (np.diag(sim) == 0).all() and sim[0, 2] == 0 and sim[3].max() == 0
  # f_0 = 2, f_2 = 1 would give NGD = (log 2 - log f_02) / (log 4 - log 1); with f_02 = 1:
  y2 = np.array([[1, 0], [1, 1], [0, 0], [0, 0]])
  expected = np.exp(-1.512 * (np.log(2) - np.log(1)) / (np.log(4) - np.log(1)))
  np.testing.assert_allclose(ngd_similarity(y2)[0, 1], expected)
