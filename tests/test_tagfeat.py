"""TFEAT (kdgan_tf/tagrec/tagfeat.py) on a tiny problem whose answer is known."""
import numpy as np

from kdgan_tf.tagrec.tagfeat import TagFeature, l1_normalise
from tagrec_fixtures import noisy_clusters as clusters, precision_at_2


SMALL = dict(bags=3, min_negatives=0, neg_pos_ratio=1.0, num_feature_tags=4)


def test_tagfeat_ranks_cluster_tags_first():
  x, y = clusters(30, seed=0)
  x_test, y_test = clusters(10, seed=1)
  model = TagFeature(**SMALL).fit(x, y)
  scores = model.score(x_test)
  assert scores.shape == (30, 6) and scores.dtype == np.float64
  assert ((scores >= 0) & (scores <= 1)).all()
  assert precision_at_2(scores, y_test) == 1.0
  # Probabilities separate: the true tags are likely, the others not.
  assert scores[y_test > 0].min() > 0.5 > scores[y_test == 0].max()
  # Stage 1 used the 4 most frequent tags (all tie: the first 4 by index); the tag feature of a
  # cluster-0 image puts its mass on tags 0 and 1.
  np.testing.assert_array_equal(model.feature_tags_, [0, 1, 2, 3])
  tf = model.tag_feature(x_test[:10])
  np.testing.assert_allclose(tf.sum(axis=1), 1.0)
  assert (tf[:, :2].sum(axis=1) > 0.8).all()


def test_tagfeat_visual_only_and_in_sample_variants():
  x, y = clusters(30, seed=0)
  x_test, y_test = clusters(10, seed=1)
  for kwargs in (dict(use_tag_feature=False), dict(cross_fit=False), dict(fit_bias=True)):
    scores = TagFeature(**SMALL, **kwargs).fit(x, y).score(x_test)
    assert precision_at_2(scores, y_test) == 1.0, kwargs
  assert TagFeature(**SMALL, use_tag_feature=False).fit(x, y).stage1_ == []


def test_tagfeat_deterministic_given_seed():
  x, y = clusters(30, seed=3)
  y[::7, 5] = 1  # noisy extra labels so that the bags matter
  x_test, _ = clusters(5, seed=4)
  a = TagFeature(**SMALL, seed=5).fit(x, y).score(x_test)
  b = TagFeature(**SMALL, seed=5).fit(x, y).score(x_test)
  c = TagFeature(**SMALL, seed=6).fit(x, y).score(x_test)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_l1_normalise():
  np.testing.assert_allclose(l1_normalise([[1.0, 3.0], [0.0, 0.0]]), [[0.25, 0.75], [0.0, 0.0]])
