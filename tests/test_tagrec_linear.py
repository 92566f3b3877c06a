"""Batched squared-hinge SVM solver, class weights, Platt scaling and negative bagging
(kdgan_tf/tagrec/linear.py, kdgan_tf/tagrec/platt.py)."""
import numpy as np
import pytest

from kdgan_tf.tagrec import linear
from kdgan_tf.tagrec import platt


def _gradient(x, labels, costs, C, sol):
  z = x @ sol.weights + sol.bias
  slack = np.maximum(0.0, 1.0 - labels * z)
  residual = 2.0 * C * costs * labels * slack
  return sol.weights - x.T @ residual, -residual.sum(axis=0)


def test_solver_one_dimensional_hand_cases():
  # Problem 0: 0.5 w^2 + (1 - w)^2 -> w = 2/3. Problem 1 (only example 1, x = 2, y = -1, c = 1.5):
  # 0.5 w^2 + 1.5 (1 + 2w)^2 -> w + 6 (1 + 2w) = 0 -> w = -6/13. Masks keep them apart.
  x = np.array([[1.0], [2.0]])
  labels = np.array([[1.0, 1.0], [1.0, -1.0]])
  costs = np.array([[1.0, 0.0], [0.0, 1.5]])
  sol = linear.solve_squared_hinge(x, labels, costs, C=1.0, tol=1e-12, dtype="float64")
  np.testing.assert_allclose(sol.weights[0], [2.0 / 3.0, -6.0 / 13.0], rtol=1e-10)
  np.testing.assert_array_equal(sol.bias, [0.0, 0.0])
  # With an unregularised bias: x = +1 (y = +1) and x = -1 (y = -1), c = 1: the slacks are
  # 1 - w - b and 1 - w + b, so b = 0 and 0.5 w^2 + 2 (1 - w)^2 -> w = 4/5.
  x2 = np.array([[1.0], [-1.0]])
  sol2 = linear.solve_squared_hinge(x2, np.array([[1.0], [-1.0]]), np.ones((2, 1)), C=1.0,
                                    fit_bias=True, tol=1e-12, dtype="float64")
  np.testing.assert_allclose(sol2.weights[0, 0], 0.8, rtol=1e-10)
  np.testing.assert_allclose(sol2.bias[0], 0.0, atol=1e-12)


@pytest.mark.parametrize("fit_bias", [False, True])
def test_solver_meets_optimality_condition(fit_bias):
  rng = np.random.default_rng(0)
  n, d, p = 200, 12, 6
  x = rng.normal(size=(n, d)) + 0.5
  labels = np.where(rng.random((n, p)) < 0.3, 1.0, -1.0)
  costs = (rng.random((n, p)) < 0.6) * rng.uniform(0.2, 3.0, size=(n, p))
  C = 0.7
  sol = linear.solve_squared_hinge(x, labels, costs, C=C, fit_bias=fit_bias, tol=1e-8,
                                   dtype="float64")
  assert sol.converged.all()
  grad_w, grad_b = _gradient(x, labels, costs, C, sol)
  scale = np.abs(x.T @ (costs * labels)).max()
  assert np.abs(grad_w).max() < 1e-7 * scale
  if fit_bias:
    assert np.abs(grad_b).max() < 1e-7 * scale
    assert np.abs(sol.bias).max() > 1e-3  # the bias is really fitted
  else:
    np.testing.assert_array_equal(sol.bias, 0.0)
  # Each problem depends only on its own column: solving one column alone gives the same w.
  alone = linear.solve_squared_hinge(x, labels[:, 2:3], costs[:, 2:3], C=C, fit_bias=fit_bias,
                                     tol=1e-8, dtype="float64")
  np.testing.assert_allclose(alone.weights[:, 0], sol.weights[:, 2], rtol=1e-6, atol=1e-8)
  # A warm start at the optimum stops at once; one elsewhere reaches the same optimum.
  again = linear.solve_squared_hinge(x, labels, costs, C=C, fit_bias=fit_bias, tol=1e-8,
                                     dtype="float64", init=sol)
  assert (again.iterations == 0).all()
  np.testing.assert_allclose(again.grad_norm0, sol.grad_norm0)  # still relative to w = 0
  shifted = sol._replace(weights=sol.weights[:, ::-1], bias=sol.bias[::-1] + 1.0)
  other = linear.solve_squared_hinge(x, labels, costs, C=C, fit_bias=fit_bias, tol=1e-8,
                                     dtype="float64", init=shifted)
  np.testing.assert_allclose(other.weights, sol.weights, rtol=1e-5, atol=1e-8)
  # float32 with liblinear's stopping rule is close to the tight float64 answer.
  members = costs > 0
  tol = linear.liblinear_tolerance(members, labels > 0)
  fast = linear.solve_squared_hinge(x, labels, costs, C=C, fit_bias=fit_bias, tol=tol)
  assert fast.converged.all()
  assert np.abs(fast.weights - sol.weights).max() < 0.05 * np.abs(sol.weights).max()


def test_solver_rejects_mismatched_shapes():
  with pytest.raises(ValueError):
    linear.solve_squared_hinge(np.ones((3, 2)), np.ones((3, 2)), np.ones((2, 2)))


def test_class_weights_and_problem_costs():
  w_pos, w_neg = linear.class_weights(10, 30)
  assert w_pos == pytest.approx(2.0) and w_neg == pytest.approx(2.0 / 3.0)
  assert 10 * w_pos == pytest.approx(30 * w_neg)  # both classes weigh (n+ + n-) / 2
  members = np.array([[1, 1], [1, 0], [1, 1], [0, 1]], dtype=bool)
  positive = np.array([[1, 0], [0, 0], [0, 1], [0, 0]], dtype=bool)
  costs, labels = linear.problem_costs(members, positive)
  # Problem 0: 1 positive, 2 negatives -> w+ = 1.5, w- = 0.75; problem 1: 1 and 2 likewise.
  np.testing.assert_allclose(costs, [[1.5, 0.75], [0.75, 0.0], [0.75, 1.5], [0.0, 0.75]])
  np.testing.assert_array_equal(labels, [[1, -1], [-1, -1], [-1, 1], [-1, -1]])


def test_platt_hand_cases():
  # One positive at f = +1, one negative at f = -1: targets 2/3 and 1/3 are met exactly by
  # B = 0, 1 / (1 + exp(A)) = 2/3, i.e. A = -log 2.
  A, B = platt.fit_platt(np.array([[1.0], [-1.0]]), np.array([[1], [0]]))
  np.testing.assert_allclose(A, [-np.log(2.0)], atol=1e-5)
  np.testing.assert_allclose(B, [0.0], atol=1e-5)
  # All decision values 0: p is the mean target, (3 * 4/5 + 1/3) / 4, and A stays 0.
  # A second column (tag) with a mask that hides rows must be fitted independently.
  f = np.zeros((5, 2))
  labels = np.array([[1, 1], [1, 1], [1, 0], [0, 0], [1, 1]])
  mask = np.array([[1, 1], [1, 1], [1, 1], [1, 1], [0, 0]], dtype=bool)
  A, B = platt.fit_platt(f, labels, mask)
  for k, (n_pos, n_neg) in enumerate([(3, 1), (2, 2)]):
    mean_target = (n_pos * (n_pos + 1) / (n_pos + 2) + n_neg / (n_neg + 2)) / (n_pos + n_neg)
    np.testing.assert_allclose(platt.platt_probability(0.0, A[k], B[k]), mean_target, atol=1e-6)
    assert abs(A[k]) < 1e-9


def test_platt_monotone_and_stable():
  rng = np.random.default_rng(1)
  labels = rng.random((300, 3)) < 0.3
  f = rng.normal(size=(300, 3)) + 1.5 * labels  # positives score higher
  A, B = platt.fit_platt(f, labels)
  assert (A < 0).all()
  grid = np.linspace(-50, 50, 101)[:, None]
  p = platt.platt_probability(grid, A, B)
  assert (np.diff(p, axis=0) >= 0).all() and (np.diff(p[40:60], axis=0) > 0).all()
  extreme = platt.platt_probability(np.array([[-1e6], [1e6]]), A, B)
  assert np.isfinite(extreme).all() and extreme[0].max() < 1e-12 and extreme[1].min() > 1 - 1e-12


def test_negative_bags_composition_and_seeding():
  rng = np.random.default_rng(2)
  y = rng.random((200, 3)) < np.array([0.1, 0.3, 0.02])
  y[:5, 2] = True  # at least a few positives everywhere
  members, tag_of = linear.negative_bags(y, bags=4, neg_pos_ratio=2.0, max_positives=30,
                                         min_negatives=0, seed=7)
  assert members.shape == (200, 12)
  np.testing.assert_array_equal(tag_of, np.repeat(np.arange(3), 4))
  for p in range(12):
    t = tag_of[p]
    pos, inbag = y[:, t], members[:, p]
    n_pos_bag = (inbag & pos).sum()
    assert n_pos_bag == min(pos.sum(), 30)
    assert (inbag & ~pos).sum() == min((~pos).sum(), 2 * n_pos_bag)
    if pos.sum() <= 30:
      assert (inbag[pos]).all()  # every positive in every bag
  # Tag 1 has more than 30 positives: bags draw different subsets; negatives differ per bag.
  assert not np.array_equal(members[:, 4], members[:, 5])
  assert not np.array_equal(members[:, 0] & ~y[:, 0], members[:, 1] & ~y[:, 0])
  again, _ = linear.negative_bags(y, bags=4, neg_pos_ratio=2.0, max_positives=30,
                                  min_negatives=0, seed=7)
  other, _ = linear.negative_bags(y, bags=4, neg_pos_ratio=2.0, max_positives=30,
                                  min_negatives=0, seed=8)
  np.testing.assert_array_equal(members, again)
  assert not np.array_equal(members, other)
  # The authors' floor of 1000 negatives (capped by the pool).
  floor, _ = linear.negative_bags(y, bags=1, seed=0)
  np.testing.assert_array_equal((floor & ~y).sum(axis=0), (~y).sum(axis=0))


def test_fuse_bags_is_uniform_mean():
  d = np.arange(12.0).reshape(2, 6)  # 2 tags x 3 bags
  np.testing.assert_allclose(linear.fuse_bags(d, 3), [[1.0, 4.0], [7.0, 10.0]])
