"""Unit tests for kdgan_tf.estimators: label samplers and adversarial gradient estimators.

The estimators estimate grad_l E_{y ~ softmax(l)}[log(1 - sigmoid(g_y))] for a generator with
logits l and a discriminator with logits g. On a small problem the exact gradient is
    sum_y p_y r_y (onehot_y - p),   r_y = log(1 - sigmoid(g_y)) = -softplus(g_y),
which the statistical tests below compare against. All randomness uses fixed stateless seeds,
so every test is deterministic.
"""
import functools

import kdgan_tf  # noqa: F401  (sets KERAS_BACKEND before anything imports keras)
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from kdgan_tf.estimators import (EstimatorOutput, concrete_pathwise, concrete_score,
                                 gumbel_softmax_sample, reinforce, sample_labels)
from kdgan_tf.losses import generator_adversarial_value

ESTIMATORS = {
    "concrete_score": concrete_score,
    "concrete_score_baseline": functools.partial(concrete_score, baseline=True),
    "concrete_pathwise": concrete_pathwise,
    "concrete_pathwise_st": functools.partial(concrete_pathwise, straight_through=True),
    "reinforce": reinforce,
    "reinforce_baseline": functools.partial(reinforce, baseline=True),
}

# The small fixed problem: B = 1, K = 3.
GEN = np.array([[0.5, -0.3, 1.0]], np.float32)
DISC = np.array([[2.0, -1.0, 0.5]], np.float32)


def _seed(a, b):
  return tf.constant([a, b], tf.int32)


def _softmax(x):
  x = np.asarray(x, np.float64)
  e = np.exp(x - x.max(axis=-1, keepdims=True))
  return e / e.sum(axis=-1, keepdims=True)


def _softplus(x):
  x = np.asarray(x, np.float64)
  return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _exact_gradient(gen_row, disc_row):
  """grad_l E_{y ~ softmax(l)}[-softplus(g_y)] = sum_y p_y r_y (onehot_y - p), by hand."""
  p = _softmax(gen_row)
  r = -_softplus(disc_row)
  k = len(p)
  return sum(p[y] * r[y] * (np.eye(k)[y] - p) for y in range(k))


def _estimate(estimator, gen, disc, temperature, seed, num_samples):
  """Returns (EstimatorOutput, d surrogate.sum() / d gen_logits as numpy)."""
  gen = tf.constant(gen, tf.float32)
  disc = tf.constant(disc, tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(gen)
    out = estimator(gen, disc, temperature, seed, num_samples=num_samples)
    total = tf.reduce_sum(out.surrogate)
  return out, tape.gradient(total, gen).numpy()


def _cosine(a, b):
  return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _random_problem(batch=4, classes=5):
  rng = np.random.RandomState(0)
  return (rng.normal(size=(batch, classes)).astype(np.float32),
          rng.normal(size=(batch, classes)).astype(np.float32))


# ---------------------------------------------------------------------------------------------
# Contract of every estimator.
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("temperature", [1.0, 0.1])
def test_estimator_shapes_and_finite(name, temperature):
  gen, disc = _random_problem()
  out, grad = _estimate(ESTIMATORS[name], gen, disc, temperature, _seed(1, 2), num_samples=7)
  assert isinstance(out, EstimatorOutput)
  assert out.surrogate.shape == (4,)
  assert out.value.shape == (4,)
  assert grad.shape == (4, 5)
  for t in (out.surrogate.numpy(), out.value.numpy(), grad):
    assert np.all(np.isfinite(t))
  # value is a mean of log(1 - p_d) terms: negative, and within [-softplus(max g),
  # -softplus(min g)] per example because sample scores are convex combinations of g.
  value = out.value.numpy()
  assert np.all(value < 0)
  assert np.all(value >= -_softplus(disc.max(axis=1)) - 1e-5)
  assert np.all(value <= -_softplus(disc.min(axis=1)) + 1e-5)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimator_deterministic_for_seed(name):
  """Stateless seeds: same seed -> identical samples and gradient; new seed -> new samples."""
  gen, disc = _random_problem()
  out1, grad1 = _estimate(ESTIMATORS[name], gen, disc, 0.5, _seed(3, 4), num_samples=10)
  out2, grad2 = _estimate(ESTIMATORS[name], gen, disc, 0.5, _seed(3, 4), num_samples=10)
  out3, grad3 = _estimate(ESTIMATORS[name], gen, disc, 0.5, _seed(5, 6), num_samples=10)
  np.testing.assert_array_equal(out1.surrogate.numpy(), out2.surrogate.numpy())
  np.testing.assert_array_equal(out1.value.numpy(), out2.value.numpy())
  np.testing.assert_array_equal(grad1, grad2)
  assert not np.allclose(out1.value.numpy(), out3.value.numpy())
  assert not np.allclose(grad1, grad3)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimator_d_logits_get_no_gradient(name):
  """D is a constant for the generator's update: no gradient may reach D's logits."""
  gen, disc = (tf.constant(x) for x in _random_problem())
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([gen, disc])
    out = ESTIMATORS[name](gen, disc, 0.5, _seed(7, 8), num_samples=5)
    surrogate = tf.reduce_sum(out.surrogate)
    value = tf.reduce_sum(out.value)
  assert tape.gradient(surrogate, disc) is None
  assert tape.gradient(value, disc) is None
  assert tape.gradient(surrogate, gen) is not None


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimator_value_has_no_gradient(name):
  """`value` is for logging only; it must not carry a gradient to the generator."""
  gen, disc = (tf.constant(x) for x in _random_problem())
  with tf.GradientTape() as tape:
    tape.watch(gen)
    value = tf.reduce_sum(ESTIMATORS[name](gen, disc, 0.5, _seed(7, 8), num_samples=5).value)
  assert tape.gradient(value, gen) is None


# ---------------------------------------------------------------------------------------------
# Hand-computed REINFORCE.
# ---------------------------------------------------------------------------------------------

def test_reinforce_single_sample_gradient_hand_computed():
  """With S = 1 the REINFORCE gradient is r(y) * (onehot_y - softmax(l)) for the sampled y."""
  gen = np.array([[0.5, -0.3, 1.0], [2.0, 0.0, -1.0]], np.float32)
  disc = np.array([[2.0, -1.0, 0.5], [-0.5, 1.5, 0.0]], np.float32)
  seed = _seed(11, 12)
  out, grad = _estimate(reinforce, gen, disc, 1.0, seed, num_samples=1)
  # reinforce draws its labels with sample_labels(gen_logits, S, seed): same seed, same labels.
  onehot = sample_labels(tf.constant(gen), 1, seed).numpy()[:, 0, :]  # [B, K]
  y = onehot.argmax(axis=1)
  reward = -_softplus(disc[np.arange(2), y])                           # log(1 - sigmoid(g_y))
  expected = reward[:, None] * (onehot - _softmax(gen)) / 1.0
  np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(out.value.numpy(), reward, rtol=1e-5)
  # surrogate = r(y) * log p(y).
  log_p = np.log(_softmax(gen))[np.arange(2), y]
  np.testing.assert_allclose(out.surrogate.numpy(), reward * log_p, rtol=1e-5)


def test_reinforce_value_is_mean_over_its_samples():
  gen, disc = _random_problem()
  seed = _seed(13, 14)
  out = reinforce(tf.constant(gen), tf.constant(disc), 1.0, seed, num_samples=6)
  labels = sample_labels(tf.constant(gen), 6, seed)
  expected = generator_adversarial_value(tf.constant(disc), labels).numpy().mean(axis=1)
  np.testing.assert_allclose(out.value.numpy(), expected, rtol=1e-6)


def test_reinforce_ignores_temperature():
  gen, disc = _random_problem()
  _, grad_hot = _estimate(reinforce, gen, disc, 1.0, _seed(1, 1), num_samples=4)
  _, grad_cold = _estimate(reinforce, gen, disc, 0.1, _seed(1, 1), num_samples=4)
  np.testing.assert_array_equal(grad_hot, grad_cold)


def test_concrete_score_gradient_does_not_depend_on_temperature():
  """A mathematical property of Eq. 8: at a reparameterised sample log y = log_softmax((l+G)/tau)
  the score grad_l log q_tau(y) = 1 - K softmax(-G) depends only on the Gumbel noise G, and
  z = argmax y does not depend on tau either. So, with the same seed (same G), the estimate is
  identical for every tau: annealing tau cannot change this estimator."""
  gen, disc = _random_problem()
  _, grad_hot = _estimate(concrete_score, gen, disc, 1.0, _seed(2, 2), num_samples=8)
  _, grad_cold = _estimate(concrete_score, gen, disc, 0.1, _seed(2, 2), num_samples=8)
  np.testing.assert_allclose(grad_hot, grad_cold, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("estimator", [functools.partial(reinforce, baseline=True),
                                       functools.partial(concrete_score, baseline=True)])
def test_baseline_with_one_sample_gives_zero_gradient(estimator):
  """The baseline is the mean reward over the S samples; with S = 1 every centred reward is 0."""
  gen, disc = _random_problem()
  out, grad = _estimate(estimator, gen, disc, 1.0, _seed(4, 4), num_samples=1)
  np.testing.assert_array_equal(grad, np.zeros_like(grad))
  np.testing.assert_array_equal(out.surrogate.numpy(), np.zeros(4))
  assert np.all(out.value.numpy() < 0)  # the logged value is not centred


# ---------------------------------------------------------------------------------------------
# Bias and variance on the small fixed problem.
# ---------------------------------------------------------------------------------------------

EXACT = _exact_gradient(GEN[0], DISC[0])


def test_exact_gradient_reference_by_finite_differences():
  """Sanity check of the closed form used below: central differences of the exact expectation."""
  def expectation(l):
    return float(np.dot(_softmax(l), -_softplus(DISC[0])))
  eps = 1e-5
  fd = [(expectation(GEN[0].astype(np.float64) + eps * e)
         - expectation(GEN[0].astype(np.float64) - eps * e)) / (2 * eps) for e in np.eye(3)]
  np.testing.assert_allclose(EXACT, fd, atol=1e-8)


def test_reinforce_is_unbiased():
  """Averaged over 20000 samples, REINFORCE matches the exact gradient (standard error ~0.005
  per coordinate, tolerance 0.02)."""
  _, grad = _estimate(reinforce, GEN, DISC, 1.0, _seed(21, 22), num_samples=20000)
  np.testing.assert_allclose(grad[0], EXACT, atol=0.02)


@pytest.mark.parametrize("temperature", [1.0, 0.1])
def test_concrete_score_is_unbiased(temperature):
  """Eq. 8 (score of the concrete density times the reward of argmax y) is also unbiased for the
  categorical objective, since z = argmax y ~ softmax(l) (standard error ~0.007, tol 0.03)."""
  _, grad = _estimate(concrete_score, GEN, DISC, temperature, _seed(23, 24), num_samples=20000)
  np.testing.assert_allclose(grad[0], EXACT, atol=0.03)


@pytest.mark.parametrize("straight_through", [False, True])
def test_concrete_pathwise_direction_and_bias_shrinks_with_tau(straight_through):
  """The pathwise gradient through relaxed labels is biased, but the bias vanishes as tau -> 0:
  at tau = 0.1 its 20000-sample average points along the exact gradient (cosine > 0.98), and it
  is closer to it than at tau = 1.0."""
  est = functools.partial(concrete_pathwise, straight_through=straight_through)
  _, cold = _estimate(est, GEN, DISC, 0.1, _seed(25, 26), num_samples=20000)
  _, hot = _estimate(est, GEN, DISC, 1.0, _seed(25, 26), num_samples=20000)
  assert _cosine(cold[0], EXACT) > 0.98
  assert _cosine(hot[0], EXACT) > 0.9
  assert np.linalg.norm(cold[0] - EXACT) < np.linalg.norm(hot[0] - EXACT)
  assert np.linalg.norm(cold[0] - EXACT) < 0.25 * np.linalg.norm(EXACT)


def _per_row_gradient_variance(estimator, temperature, seed, rows=500):
  """Single-sample (S = 1) gradient variance, summed over coordinates.

  Uses a batch of `rows` identical examples instead of a Python loop over seeds: each row draws
  its own independent sample, and since row i's surrogate depends only on row i's logits, row i
  of d(sum of surrogates)/d logits is example i's own single-sample gradient estimate.
  """
  gen = np.repeat(GEN, rows, axis=0)
  disc = np.repeat(DISC, rows, axis=0)
  _, grads = _estimate(estimator, gen, disc, temperature, seed, num_samples=1)
  assert grads.shape == (rows, 3)
  assert np.all(np.isfinite(grads))
  assert len(np.unique(grads.round(6), axis=0)) > 1  # rows really are independent draws
  return float(grads.var(axis=0).sum())


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_concrete_pathwise_has_lower_variance_than_reinforce(temperature):
  """The reparameterised gradient is the paper's motivation for concrete distributions: its
  single-sample variance is well below REINFORCE's (observed ~10-35x lower; asserted 2x)."""
  seed = _seed(31, 32)
  var_reinforce = _per_row_gradient_variance(reinforce, temperature, seed)
  var_pathwise = _per_row_gradient_variance(concrete_pathwise, temperature, seed)
  var_score = _per_row_gradient_variance(concrete_score, temperature, seed)
  assert var_score > 0 and var_reinforce > 0 and var_pathwise > 0
  assert var_pathwise < 0.5 * var_reinforce


def test_concrete_pathwise_variance_grows_as_tau_falls():
  """The bias/variance trade-off of tau: colder relaxations have higher-variance gradients."""
  var_hot = _per_row_gradient_variance(concrete_pathwise, 1.0, _seed(33, 34))
  var_cold = _per_row_gradient_variance(concrete_pathwise, 0.5, _seed(33, 34))
  assert var_hot < var_cold


# ---------------------------------------------------------------------------------------------
# Samplers.
# ---------------------------------------------------------------------------------------------

SAMPLER_LOGITS = np.array([[1.0, 0.0, -1.0], [0.2, 0.5, 0.1]], np.float32)
NUM = 20000


def _fallback_samples(temperature, seed=_seed(41, 42), logits=SAMPLER_LOGITS, num=NUM):
  return gumbel_softmax_sample(tf.constant(logits), temperature, num, seed).numpy()  # [B, S, K]


def _tfp_samples(temperature, seed=_seed(43, 44), logits=SAMPLER_LOGITS, num=NUM):
  dist = tfp.distributions.RelaxedOneHotCategorical(temperature=temperature,
                                                    logits=tf.constant(logits))
  return np.transpose(dist.sample(num, seed=seed).numpy(), [1, 0, 2])  # [B, S, K]


def _argmax_freq(samples):
  k = samples.shape[-1]
  return np.stack([np.bincount(row, minlength=k) / row.size for row in samples.argmax(-1)])


SAMPLERS = {"fallback": _fallback_samples, "tfp": _tfp_samples}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_concrete_samples_on_simplex(name):
  samples = SAMPLERS[name](0.5, num=500)
  assert samples.shape == (2, 500, 3)
  assert np.all(np.isfinite(samples))
  assert np.all(samples >= 0)
  np.testing.assert_allclose(samples.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@pytest.mark.parametrize("temperature", [1.0, 0.1])
def test_concrete_argmax_frequencies_match_softmax(name, temperature):
  """Gumbel-max: argmax of a concrete sample is distributed as softmax(logits) for every tau."""
  freq = _argmax_freq(SAMPLERS[name](temperature))
  np.testing.assert_allclose(freq, _softmax(SAMPLER_LOGITS), atol=0.015)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_concrete_samples_approach_one_hot_as_tau_falls(name):
  """As tau goes 1.0 -> 0.1 -> 0.01 samples approach one-hot: the mean largest coordinate
  increases monotonically and exceeds 0.99 at tau = 0.01."""
  mean_max = [SAMPLERS[name](tau, num=5000).max(-1).mean() for tau in (1.0, 0.1, 0.01)]
  assert mean_max[0] < mean_max[1] < mean_max[2]
  assert mean_max[0] < 0.9
  assert mean_max[2] > 0.99


def test_fallback_and_tfp_agree_in_distribution():
  """gumbel_softmax_sample is a drop-in replacement for TFP's RelaxedOneHotCategorical: at
  tau = 0.5 the argmax frequencies, coordinate means and mean largest coordinate agree, and so
  does each coordinate's whole marginal distribution (two-sample Kolmogorov-Smirnov distance;
  its 0.1% critical value for two samples of 20000 is ~0.0195). Independent seeds."""
  ours, theirs = _fallback_samples(0.5), _tfp_samples(0.5)
  np.testing.assert_allclose(_argmax_freq(ours), _argmax_freq(theirs), atol=0.02)
  np.testing.assert_allclose(ours.mean(1), theirs.mean(1), atol=0.015)
  np.testing.assert_allclose(ours.max(-1).mean(1), theirs.max(-1).mean(1), atol=0.015)
  grid = np.linspace(0.0, 1.0, 201)
  for b in range(ours.shape[0]):
    for k in range(ours.shape[2]):
      cdf_ours = np.searchsorted(np.sort(ours[b, :, k]), grid, side="right") / NUM
      cdf_theirs = np.searchsorted(np.sort(theirs[b, :, k]), grid, side="right") / NUM
      assert np.abs(cdf_ours - cdf_theirs).max() < 0.025, (b, k)


def test_gumbel_softmax_sample_reparameterised_and_shift_invariant():
  """Gradients flow to the logits, and softmax ignores a constant shift of the logits."""
  logits = tf.constant(SAMPLER_LOGITS)
  with tf.GradientTape() as tape:
    tape.watch(logits)
    y = gumbel_softmax_sample(logits, 0.5, 4, _seed(45, 46))
    loss = tf.reduce_sum(y[..., 0])
  grad = tape.gradient(loss, logits)
  assert grad is not None and np.all(np.isfinite(grad.numpy()))
  assert np.any(grad.numpy() != 0)
  shifted = gumbel_softmax_sample(logits + 3.0, 0.5, 4, _seed(45, 46))
  np.testing.assert_allclose(y.numpy(), shifted.numpy(), atol=1e-5)
  again = gumbel_softmax_sample(logits, 0.5, 4, _seed(45, 46))
  np.testing.assert_array_equal(y.numpy(), again.numpy())


def test_sample_labels_one_hot_and_frequencies():
  logits = tf.constant(SAMPLER_LOGITS)
  labels = sample_labels(logits, NUM, _seed(47, 48)).numpy()
  assert labels.shape == (2, NUM, 3)
  assert labels.dtype == np.float32
  assert set(np.unique(labels)) <= {0.0, 1.0}
  np.testing.assert_array_equal(labels.sum(-1), 1.0)
  freq = labels.mean(axis=1)
  np.testing.assert_allclose(freq, _softmax(SAMPLER_LOGITS), atol=0.015)


def test_sample_labels_deterministic_and_no_gradient():
  logits = tf.constant(SAMPLER_LOGITS)
  with tf.GradientTape() as tape:
    tape.watch(logits)
    labels = sample_labels(logits, 8, _seed(49, 50))
    total = tf.reduce_sum(labels * tf.range(3, dtype=tf.float32))
  assert tape.gradient(total, logits) is None
  np.testing.assert_array_equal(labels.numpy(), sample_labels(logits, 8, _seed(49, 50)).numpy())


# ---------------------------------------------------------------------------------------------
# Hand-computed single-sample concrete estimators (closed forms of their gradients).
# ---------------------------------------------------------------------------------------------

CLOSED_GEN = np.array([[0.5, -0.3, 1.0], [2.0, 0.0, -1.0]], np.float32)   # B = 2, K = 3
CLOSED_DISC = np.array([[2.0, -1.0, 0.5], [-0.5, 1.5, 0.0]], np.float32)


def _log_softmax_jacobian(logits):
  """d log_softmax(logits)_k / d logits_j = delta_kj - softmax(logits)_j, per row: [B, K, K]."""
  p = _softmax(logits)
  k = p.shape[-1]
  return np.eye(k)[None] - p[:, None, :]


def _concrete_log_density(x, l, tau):
  """log q(x) of TFP's ExpRelaxedOneHotCategorical at x = log y (Maddison et al. 2017, in log
  space): log (K-1)! + (K-1) log tau + sum_k (l_k - tau x_k) - K logsumexp(l - tau x)."""
  k = x.shape[-1]
  a = l - tau * x
  lse = a.max(-1) + np.log(np.exp(a - a.max(-1, keepdims=True)).sum(-1))
  return (np.log(float(np.prod(np.arange(1, k)))) + (k - 1) * np.log(tau) + a.sum(-1)
          - k * lse)


def _concrete_score_closed_form(x, l, tau):
  """d log q(x) / d l_k = 1 - K softmax(l - tau x)_k (differentiating the density above)."""
  return 1.0 - x.shape[-1] * _softmax(l - tau * x)


def test_concrete_log_density_and_score_closed_forms_match_tfp():
  """Checks the two hand formulas used below against TFP's log_prob and central differences."""
  l = tf.nn.log_softmax(tf.constant(CLOSED_GEN, tf.float64)).numpy()
  x = np.log(_softmax([[0.2, -1.0, 0.7], [1.5, 0.1, -0.4]]))   # two points of log-simplex
  for tau in (1.0, 0.3):
    dist = tfp.distributions.ExpRelaxedOneHotCategorical(tau, logits=tf.constant(l))
    np.testing.assert_allclose(dist.log_prob(tf.constant(x)).numpy(),
                               _concrete_log_density(x, l, tau), rtol=1e-10)
    eps = 1e-6
    fd = np.stack([(_concrete_log_density(x, l + eps * e, tau)
                    - _concrete_log_density(x, l - eps * e, tau)) / (2 * eps)
                   for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(_concrete_score_closed_form(x, l, tau), fd, atol=1e-7)


@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_concrete_score_single_sample_gradient_hand_computed(temperature):
  """S = 1: surrogate = r(z) log q(x) with x = log y the sample, z = argmax x,
  r(z) = -softplus(g_z); its gradient w.r.t. the logits is r(z) (d l / d logits)^T score(x)."""
  seed = _seed(51, 52)
  out, grad = _estimate(concrete_score, CLOSED_GEN, CLOSED_DISC, temperature, seed,
                        num_samples=1)
  # The estimator's own sample: the same TFP call with the same stateless seed.
  gen_t = tf.constant(CLOSED_GEN)
  dist = tfp.distributions.ExpRelaxedOneHotCategorical(
      temperature=temperature, logits=tf.nn.log_softmax(gen_t, axis=-1))
  x32 = dist.sample(1, seed=seed).numpy()[0]                            # [B, K], log y
  np.testing.assert_array_equal(x32, dist.sample(1, seed=seed).numpy()[0])  # reproducible
  x = x32.astype(np.float64)
  np.testing.assert_allclose(np.exp(x).sum(-1), 1.0, rtol=1e-5)          # on the log-simplex
  z = x.argmax(-1)
  reward = -_softplus(CLOSED_DISC[np.arange(2), z])
  l = np.log(_softmax(CLOSED_GEN))
  score_l = _concrete_score_closed_form(x, l, temperature)             # d log q / d l, [B, K]
  score_logits = np.einsum("bkj,bk->bj", _log_softmax_jacobian(CLOSED_GEN), score_l)
  expected = reward[:, None] * score_logits
  assert np.abs(expected).max(axis=1).min() > 1e-2  # not a vacuous comparison
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(out.value.numpy(), reward, rtol=1e-5)
  np.testing.assert_allclose(out.surrogate.numpy(),
                             reward * _concrete_log_density(x, l, temperature),
                             rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_concrete_pathwise_single_sample_gradient_hand_computed(temperature):
  """S = 1, no straight-through: y = softmax((l + G) / tau), surrogate = -softplus(<y, g>), and
  d surrogate / d logits = -sigmoid(<y, g>) J^T g with J = (diag(y) - y y^T) / tau
  (d y / d l) times (I - 1 softmax(logits)^T) (d l / d logits)."""
  seed = _seed(51, 52)  # both rows have gradients > 0.02 at both taus
  out, grad = _estimate(concrete_pathwise, CLOSED_GEN, CLOSED_DISC, temperature, seed,
                        num_samples=1)
  dist = tfp.distributions.RelaxedOneHotCategorical(
      temperature=temperature, logits=tf.nn.log_softmax(tf.constant(CLOSED_GEN), axis=-1))
  y32 = dist.sample(1, seed=seed).numpy()[0]                            # [B, K]
  np.testing.assert_array_equal(y32, dist.sample(1, seed=seed).numpy()[0])  # reproducible
  y = y32.astype(np.float64)
  np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-5)
  g = CLOSED_DISC.astype(np.float64)
  s = (y * g).sum(-1)                                                   # <y, g>, [B]
  dy_dl = (np.einsum("bk,kj->bkj", y, np.eye(3)) - y[:, :, None] * y[:, None, :]) / temperature
  jac = np.einsum("bkm,bmj->bkj", dy_dl, _log_softmax_jacobian(CLOSED_GEN))  # dy / d logits
  sigmoid = 1.0 / (1.0 + np.exp(-s))
  expected = -sigmoid[:, None] * np.einsum("bkj,bk->bj", jac, g)
  assert np.abs(expected).max(axis=1).min() > 1e-2  # not a vacuous comparison
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(out.surrogate.numpy(), -_softplus(s), rtol=1e-5)
  np.testing.assert_allclose(out.value.numpy(), -_softplus(s), rtol=1e-5)
