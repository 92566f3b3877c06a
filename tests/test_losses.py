"""Unit tests for kdgan_tf.losses against hand-computed values.

Every expected value is written out with plain Python / numpy math, independently of the
TensorFlow code under test. The running example has B = 2 examples and K = 3 classes.
"""
import math

import kdgan_tf  # noqa: F401  (sets KERAS_BACKEND before anything imports keras)
import numpy as np
import pytest
import tensorflow as tf

from kdgan_tf.losses import (cross_entropy, discriminator_loss, discriminator_loss_floor,
                             expected_adversarial_value,
                             generator_adversarial_value, kl_softened, l2_logits,
                             log_one_minus_sigmoid, log_sigmoid, pair_score, true_label_mass)

# Student logits z and teacher logits t: 2 examples, 3 classes.
Z = [[1.0, 2.0, 0.5],
     [-1.0, 0.0, 3.0]]
T = [[0.0, 2.5, 1.0],
     [2.0, -0.5, 1.0]]


def _softplus(x):
  """log(1 + e^x), written so it never overflows."""
  return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _softmax(row):
  m = max(row)
  e = [math.exp(v - m) for v in row]
  s = sum(e)
  return [v / s for v in e]


def _const(x):
  return tf.constant(x, tf.float32)


# ---------------------------------------------------------------------------------------------
# Distillation losses.
# ---------------------------------------------------------------------------------------------

def test_l2_logits_hand_computed():
  # 0.5 * sum_k (t_k - z_k)^2
  # ex 0: diffs (-1, 0.5, 0.5) -> 0.5 * (1 + 0.25 + 0.25) = 0.75
  # ex 1: diffs (3, -0.5, -2)  -> 0.5 * (9 + 0.25 + 4)    = 6.625
  out = l2_logits(_const(Z), _const(T))
  assert out.shape == (2,)
  np.testing.assert_allclose(out.numpy(), [0.75, 6.625], rtol=1e-6)


def test_l2_logits_zero_when_equal():
  out = l2_logits(_const(Z), _const(Z))
  np.testing.assert_array_equal(out.numpy(), [0.0, 0.0])


def _kl_softened_by_hand(z_rows, t_rows, temp):
  """T^2 * sum_k p_k (log p_k - log q_k), p = softmax(t / T), q = softmax(z / T)."""
  out = []
  for z_row, t_row in zip(z_rows, t_rows):
    p = _softmax([v / temp for v in t_row])
    q = _softmax([v / temp for v in z_row])
    out.append(temp ** 2 * sum(pk * (math.log(pk) - math.log(qk)) for pk, qk in zip(p, q)))
  return out


@pytest.mark.parametrize("temp", [1.0, 3.0])
def test_kl_softened_hand_computed(temp):
  """T^2 * KL(softmax(t/T) || softmax(z/T)), including the T^2 factor (checked at T = 1, 3)."""
  out = kl_softened(_const(Z), _const(T), temperature=temp)
  assert out.shape == (2,)
  np.testing.assert_allclose(out.numpy(), _kl_softened_by_hand(Z, T, temp), rtol=1e-5)


def test_kl_softened_t3_has_t_squared_factor():
  """At T = 3 the value is 9x the plain KL of the T-softened distributions."""
  plain_kl = [v / 9.0 for v in _kl_softened_by_hand(Z, T, 3.0)]
  out = kl_softened(_const(Z), _const(T), temperature=3.0).numpy()
  np.testing.assert_allclose(out / 9.0, plain_kl, rtol=1e-5)
  assert np.all(out > 0)


def test_kl_softened_zero_when_equal():
  out = kl_softened(_const(Z), _const(Z), temperature=3.0)
  np.testing.assert_allclose(out.numpy(), [0.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("temp", [0.0, -1.0])
def test_kl_softened_non_positive_temperature_raises(temp):
  with pytest.raises(ValueError):
    kl_softened(_const(Z), _const(T), temperature=temp)


@pytest.mark.parametrize("loss_fn", [l2_logits, kl_softened])
def test_distillation_teacher_gets_no_gradient(loss_fn):
  """The teacher side is a constant: a distillation loss must never move the teacher."""
  z, t = _const(Z), _const(T)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([z, t])
    loss = tf.reduce_sum(loss_fn(z, t))
  assert tape.gradient(loss, t) is None
  assert tape.gradient(loss, z) is not None


def test_l2_logits_student_gradient_is_z_minus_t():
  z, t = _const(Z), _const(T)
  with tf.GradientTape() as tape:
    tape.watch(z)
    loss = tf.reduce_sum(l2_logits(z, t))
  expected = np.array(Z) - np.array(T)
  np.testing.assert_allclose(tape.gradient(loss, z).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("temp", [1.0, 3.0])
def test_kl_softened_student_gradient(temp):
  """d/dz [T^2 KL] = T * (softmax(z/T) - softmax(t/T)): the T^2 factor keeps the scale ~T."""
  z, t = _const(Z), _const(T)
  with tf.GradientTape() as tape:
    tape.watch(z)
    loss = tf.reduce_sum(kl_softened(z, t, temperature=temp))
  expected = [[temp * (qk - pk) for qk, pk in zip(_softmax([v / temp for v in zr]),
                                                  _softmax([v / temp for v in tr]))]
              for zr, tr in zip(Z, T)]
  np.testing.assert_allclose(tape.gradient(loss, z).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss_fn", [l2_logits, kl_softened])
@pytest.mark.parametrize("student,teacher", [
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),                       # rank 1
    ([[[1.0, 2.0, 3.0]]], [[[1.0, 2.0, 3.0]]]),               # rank 3
    ([[1.0, 2.0, 3.0]], [1.0, 2.0, 3.0]),                     # rank mismatch
    ([[1.0, 2.0, 3.0]], [[1.0, 2.0]]),                        # class-count mismatch
    ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0]]),                 # batch mismatch
])
def test_distillation_bad_shapes_raise(loss_fn, student, teacher):
  with pytest.raises(ValueError):
    loss_fn(_const(student), _const(teacher))


# ---------------------------------------------------------------------------------------------
# Supervised loss.
# ---------------------------------------------------------------------------------------------

def test_cross_entropy_hand_computed():
  # -log softmax(z)_y = logsumexp(z) - z_y
  labels = [1, 2]
  expected = [math.log(sum(math.exp(v) for v in row)) - row[y] for row, y in zip(Z, labels)]
  out = cross_entropy(tf.constant(labels, tf.int64), _const(Z))
  assert out.shape == (2,)
  np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_cross_entropy_accepts_float_labels():
  """Labels are cast to int32, so float class ids (e.g. from a tf.data pipeline) work."""
  out_f = cross_entropy(tf.constant([0.0, 2.0]), _const(Z))
  out_i = cross_entropy(tf.constant([0, 2]), _const(Z))
  np.testing.assert_allclose(out_f.numpy(), out_i.numpy())


# ---------------------------------------------------------------------------------------------
# Adversarial terms.
# ---------------------------------------------------------------------------------------------

D = [[1.0, -2.0, 0.5],
     [3.0, 0.0, -1.0]]


def test_pair_score_two_dim_labels():
  # one-hot: picks g_y; relaxed: the dot product <y, g>.
  labels = [[0.0, 1.0, 0.0],
            [0.2, 0.3, 0.5]]
  expected = [-2.0, 0.2 * 3.0 + 0.3 * 0.0 + 0.5 * -1.0]
  out = pair_score(_const(D), _const(labels))
  assert out.shape == (2,)
  np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_pair_score_three_dim_labels():
  labels = [[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],          # S = 2 labels for example 0
            [[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]]]          # S = 2 labels for example 1
  expected = [[1.0, 0.5],
              [0.0, 0.5 * 3.0 + 0.5 * -1.0]]
  out = pair_score(_const(D), _const(labels))
  assert out.shape == (2, 2)
  np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("labels", [[1.0, 0.0, 0.0], [[[[1.0, 0.0, 0.0]]]]])
def test_pair_score_bad_rank_raises(labels):
  with pytest.raises(ValueError):
    pair_score(_const([[1.0, 2.0, 3.0]]), _const(labels))


def test_pair_score_class_mismatch_raises():
  with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
    pair_score(_const(D), _const([[[1.0, 0.0]], [[0.0, 1.0]]]))


def _log_sigmoid_ref(s):
  """log sigmoid(s) = min(s, 0) - log(1 + e^{-|s|}), in float64."""
  s = np.asarray(s, np.float64)
  return np.minimum(s, 0.0) - np.log1p(np.exp(-np.abs(s)))


SCORES = [-1000.0, -100.0, -3.0, 0.0, 2.0, 100.0, 1000.0]


def test_log_sigmoid_stable_and_correct():
  """Finite and correct at |s| = 100 and 1000, where log(sigmoid(s)) would give log(0)."""
  out = log_sigmoid(_const(SCORES)).numpy()
  assert np.all(np.isfinite(out))
  np.testing.assert_allclose(out, _log_sigmoid_ref(SCORES), rtol=1e-6, atol=1e-6)
  assert out[1] == pytest.approx(-100.0)
  assert out[5] == pytest.approx(0.0, abs=1e-6)
  assert out[3] == pytest.approx(-math.log(2.0))


def test_log_one_minus_sigmoid_stable_and_correct():
  """log(1 - sigmoid(s)) = log sigmoid(-s); finite at |s| = 100 and 1000."""
  out = log_one_minus_sigmoid(_const(SCORES)).numpy()
  assert np.all(np.isfinite(out))
  np.testing.assert_allclose(out, _log_sigmoid_ref(-np.asarray(SCORES)), rtol=1e-6, atol=1e-6)
  assert out[5] == pytest.approx(-100.0)
  assert out[1] == pytest.approx(0.0, abs=1e-6)


def test_log_sigmoid_gradients_finite_at_large_scores():
  """d/ds log sigmoid(s) = sigmoid(-s) and d/ds log(1 - sigmoid(s)) = -sigmoid(s): no NaNs."""
  s = _const(SCORES)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(s)
    a = tf.reduce_sum(log_sigmoid(s))
    b = tf.reduce_sum(log_one_minus_sigmoid(s))
  sig = np.exp(_log_sigmoid_ref(SCORES))  # sigmoid(s), without overflow
  np.testing.assert_allclose(tape.gradient(a, s).numpy(), 1.0 - sig, atol=1e-6)
  np.testing.assert_allclose(tape.gradient(b, s).numpy(), -sig, atol=1e-6)


def test_generator_adversarial_value_hand_computed():
  labels = [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]]
  # log(1 - sigmoid(g_y)) = -softplus(g_y)
  expected = [[-_softplus(1.0), -_softplus(-2.0)],
              [-_softplus(-1.0), -_softplus(3.0)]]
  out = generator_adversarial_value(_const(D), _const(labels))
  assert out.shape == (2, 2)
  np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_expected_adversarial_value_is_the_exact_mean_over_hard_labels():
  """The quantity every estimator estimates, in closed form: sum_k p_k log(1 - sigmoid(g_k));
  the Monte Carlo mean of hard sampled labels converges to it."""
  gen = [[0.0, math.log(2.0), math.log(5.0)], [2.0, 2.0, 2.0]]   # p = (1/8, 2/8, 5/8), uniform
  d = np.array(D)
  expected = [(1 * -_softplus(d[0, 0]) + 2 * -_softplus(d[0, 1]) + 5 * -_softplus(d[0, 2])) / 8,
              sum(-_softplus(g) for g in d[1]) / 3]
  out = expected_adversarial_value(_const(gen), _const(D))
  np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
  draws = tf.random.stateless_categorical(tf.math.log(tf.nn.softmax(_const(gen))), 20000, [1, 2])
  sampled = generator_adversarial_value(_const(D), tf.one_hot(draws, 3))
  np.testing.assert_allclose(tf.reduce_mean(sampled, -1).numpy(), expected, atol=0.02)


TRUE = [[0.0, 0.0, 1.0],                                  # y = 2 -> g = 0.5
        [1.0, 0.0, 0.0]]                                  # y = 0 -> g = 3.0
C_SAMPLES = [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],          # g = 1.0, -2.0
             [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]]          # g = -1.0, -1.0
T_SAMPLES = [[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]],          # g = 0.5, 0.5
             [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]          # g = 3.0, 0.0


def test_discriminator_loss_two_player_hand_computed():
  """NaGAN / IRGAN: -log sigmoid(g_true) - mean_s log(1 - sigmoid(g_c,s))."""
  # -log sigmoid(x) = softplus(-x);  -log(1 - sigmoid(x)) = softplus(x)
  expected = [
      _softplus(-0.5) + 0.5 * (_softplus(1.0) + _softplus(-2.0)),
      _softplus(-3.0) + 0.5 * (_softplus(-1.0) + _softplus(-1.0)),
  ]
  out = discriminator_loss(_const(D), _const(TRUE), _const(C_SAMPLES), t_samples=None)
  assert out.shape == (2,)
  np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_discriminator_loss_three_player_hand_computed():
  """KDGAN: C's samples weighted alpha = 0.3 and T's samples 1 - alpha = 0.7."""
  alpha = 0.3
  expected = [
      _softplus(-0.5) + alpha * 0.5 * (_softplus(1.0) + _softplus(-2.0))
      + (1 - alpha) * 0.5 * (_softplus(0.5) + _softplus(0.5)),
      _softplus(-3.0) + alpha * 0.5 * (_softplus(-1.0) + _softplus(-1.0))
      + (1 - alpha) * 0.5 * (_softplus(3.0) + _softplus(0.0)),
  ]
  out = discriminator_loss(_const(D), _const(TRUE), _const(C_SAMPLES), _const(T_SAMPLES),
                           alpha=alpha)
  assert out.shape == (2,)
  np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_discriminator_loss_alpha_endpoints():
  """alpha = 1 ignores T's samples entirely; alpha = 0 ignores C's."""
  d, y, c, t = map(_const, (D, TRUE, C_SAMPLES, T_SAMPLES))
  np.testing.assert_allclose(discriminator_loss(d, y, c, t, alpha=1.0).numpy(),
                             discriminator_loss(d, y, c, None, alpha=1.0).numpy(), rtol=1e-6)
  np.testing.assert_allclose(discriminator_loss(d, y, c, t, alpha=0.0).numpy(),
                             discriminator_loss(d, y, t, None, alpha=1.0).numpy(), rtol=1e-6)


@pytest.mark.parametrize("alpha", [-0.1, 1.0001, 2.0, float("nan")])
def test_discriminator_loss_alpha_out_of_range_raises(alpha):
  with pytest.raises(ValueError):
    discriminator_loss(_const(D), _const(TRUE), _const(C_SAMPLES), _const(T_SAMPLES),
                       alpha=alpha)


def test_discriminator_loss_rank2_samples_raises():
  """Samples must be [B, S, K]; a [B, K] tensor is a caller error that should be reported."""
  d = _const([[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]])
  y = _const([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
  with pytest.raises(ValueError):
    discriminator_loss(d, y, y)  # [B, K] samples: should be [B, S, K]


def test_discriminator_loss_gradient_signs():
  """Descending the loss raises D's logit on the true label and lowers it on C's samples."""
  d = _const(D)
  with tf.GradientTape() as tape:
    tape.watch(d)
    loss = tf.reduce_sum(discriminator_loss(d, _const(TRUE), _const(C_SAMPLES)))
  grad = tape.gradient(loss, d).numpy()
  # Example 0: true label 2 (grad < 0: increase), C sampled 0 and 1 (grad > 0: decrease).
  assert grad[0, 2] < 0 and grad[0, 0] > 0 and grad[0, 1] > 0
  # Hand value: d/dg_2 softplus(-g_2) = -sigmoid(-0.5).
  assert grad[0, 2] == pytest.approx(-1.0 / (1.0 + math.exp(0.5)), rel=1e-5)


# ---------------------------------------------------------------- D's best achievable loss
def _floor_by_hand(u, q):
  xlx = lambda x: x * math.log(x) if x > 0 else 0.0
  return sum(xlx(a + b) - xlx(a) - xlx(b) for a, b in zip(u, q))


def test_discriminator_floor_is_two_ln_two_when_the_generators_fit_the_labels():
  true = tf.constant([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
  generated = tf.constant([[0.0, 1.0, 0.0], [0.005, 0.99, 0.005], [0.0, 0.5, 0.5]])
  floor = discriminator_loss_floor(true, generated).numpy()
  w = 0.99
  np.testing.assert_allclose(floor, [2 * math.log(2), (1 + w) * math.log(1 + w) - w * math.log(w),
                                     0.0], atol=1e-6)
  assert abs(floor[1] - 1.379) < 1e-3  # the figure quoted in issue 19
  np.testing.assert_allclose(true_label_mass(true, generated).numpy(), [1.0, 0.99, 0.0],
                             atol=1e-7)


def test_discriminator_floor_multi_label_matches_hand_formula_and_is_a_minimum():
  """Two true tags (u = 1/2 each) against q; no choice of per-label scores goes lower."""
  u, q = [0.5, 0.5, 0.0, 0.0], [0.4, 0.1, 0.3, 0.2]
  floor = float(discriminator_loss_floor(tf.constant([u]), tf.constant([q]))[0])
  assert abs(floor - _floor_by_hand(u, q)) < 1e-6
  assert abs(float(true_label_mass(tf.constant([u]), tf.constant([q]))[0]) - 0.5) < 1e-7

  def loss(scores):  # expected D loss with p_d = scores per label
    return -sum(a * math.log(s) + b * math.log(1 - s) for a, b, s in zip(u, q, scores))

  best = [a / (a + b) if a + b else 0.5 for a, b in zip(u, q)]
  best = [min(max(s, 1e-12), 1 - 1e-12) for s in best]
  assert abs(loss(best) - floor) < 1e-6
  rng = np.random.RandomState(0)
  for _ in range(200):
    assert loss(np.clip(np.array(best) + rng.normal(0, 0.05, 4), 1e-6, 1 - 1e-6)) >= floor - 1e-9
