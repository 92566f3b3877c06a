"""KNN / TagVote neighbour voting: hand-computed votes and a problem with a known answer."""
import numpy as np
import pytest

from kdgan_tf.tagrec import metrics
from kdgan_tf.tagrec.base import cosine_neighbours
from kdgan_tf.tagrec.knn import NeighbourVoting
from tagrec_fixtures import cluster_problem


def test_votes_by_hand():
  # Training points on the unit circle at 0, 10, 80 and 90 degrees; query at 5 degrees.
  angles = np.radians([0.0, 10.0, 80.0, 90.0])
  x = np.stack([np.cos(angles), np.sin(angles)], axis=1)
  y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], np.uint8)
  q = np.array([[np.cos(np.radians(5.0)), np.sin(np.radians(5.0))]])
  # k = 2 nearest: points 0 and 1 -> counts (2, 1, 0); prior n_t / N = (2, 2, 1) / 4,
  # so TagVote subtracts k * prior = (1, 1, 0.5).
  plain = NeighbourVoting(k=2, subtract_prior=False).fit(x, y).score(q)
  np.testing.assert_allclose(plain, [[2.0, 1.0, 0.0]])
  vote = NeighbourVoting(k=2).fit(x, y).score(q)
  np.testing.assert_allclose(vote, [[1.0, 0.0, -0.5]])


def test_cosine_neighbours_break_ties_by_index_and_leave_one_out():
  x = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # rows 0, 1, 3 identical dir.
  index, sims = cosine_neighbours(x[:1], x, 3)
  np.testing.assert_array_equal(index, [[0, 1, 3]])
  np.testing.assert_allclose(sims, [[1.0, 1.0, 1.0]])
  index, _ = cosine_neighbours(x, x, 2, exclude_self=True)
  assert all(i not in row for i, row in enumerate(index))
  np.testing.assert_array_equal(index[0], [1, 3])
  with pytest.raises(ValueError, match="neighbours"):
    cosine_neighbours(x, x, 4, exclude_self=True)


def test_cluster_tags_rank_first():
  x, y, _ = cluster_problem(per_cluster=20)
  xq, yq, _ = cluster_problem(per_cluster=5, seed=1)
  scores = NeighbourVoting(k=5).fit(x, y).score(xq)
  assert metrics.evaluate(scores, yq, cutoffs=(2,))["P@2"] == pytest.approx(1.0)


def test_bad_k_is_refused():
  x, y, _ = cluster_problem(per_cluster=2)
  with pytest.raises(ValueError, match="exceeds"):
    NeighbourVoting(k=7).fit(x, y)
  with pytest.raises(ValueError, match="positive"):
    NeighbourVoting(k=0)
