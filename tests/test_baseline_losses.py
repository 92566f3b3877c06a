"""The baselines' losses (DISTN, MIMIC, NOISY, CODIS) against hand computations and Keras."""
import math

import kdgan_tf  # noqa: F401  (sets KERAS_BACKEND before anything imports keras)
import keras
import numpy as np
import pytest
import tensorflow as tf

from kdgan_tf.errors import UserError
from kdgan_tf.losses import hinton_distillation, kl_softened, l2_logits, perturb_logits
from kdgan_tf.trainers.codis import codistillation_loss
from kdgan_tf.trainers.mimic import mimic_loss
from kdgan_tf.trainers.noisy import noisy_loss

Z = [[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]  # student logits, B = 2, K = 3
T = [[0.0, 2.5, 1.0], [2.0, -0.5, 1.0]]  # teacher logits
Y = [1, 0]


def _c(x):
  return tf.constant(x, tf.float32)


def _log_softmax(row, temp=1.0):
  scaled = [v / temp for v in row]
  m = max(scaled)
  log_sum = m + math.log(sum(math.exp(v - m) for v in scaled))
  return [v - log_sum for v in scaled]


def _distn_by_hand(rho, temp):
  out = []
  for z, t, y in zip(Z, T, Y):
    hard = -_log_softmax(z)[y]
    log_p, log_q = _log_softmax(t, temp), _log_softmax(z, temp)
    kl = sum(math.exp(lp) * (lp - lq) for lp, lq in zip(log_p, log_q))
    out.append((1 - rho) * hard + rho * temp ** 2 * kl)
  return out


@pytest.mark.parametrize("rho,temp", [(0.7, 3.0), (0.0, 2.0), (1.0, 1.0), (0.3, 0.5)])
def test_hinton_distillation_hand_computed(rho, temp):
  terms = hinton_distillation(_c(Y), _c(Z), _c(T), soft_weight=rho, temperature=temp)
  np.testing.assert_allclose(terms["loss"].numpy(), _distn_by_hand(rho, temp), rtol=1e-5)
  np.testing.assert_allclose(terms["hard"].numpy(), [-_log_softmax(z)[y] for z, y in zip(Z, Y)],
                             rtol=1e-5)


@pytest.mark.parametrize("temp", [1.0, 3.0, 5.0])
def test_distn_soft_term_equals_keras_logits_distillation(temp):
  """keras.distillation.LogitsDistillation (KL loss) is T^2 * mean_batch KL(teacher || student)
  on temperature-scaled logits: DISTN's soft term averaged over the batch. So
  DISTN = (1 - rho) * mean CE + rho * LogitsDistillation(temperature=T).

  The loss must be given as a `keras.losses.KLDivergence()` instance: in Keras 3.15.1 the
  default string "kl_divergence" resolves to the plain function, which skips the softmax and
  the T^2 factor (KL taken directly on clipped logits)."""
  keras_kd = keras.distillation.LogitsDistillation(temperature=temp,
                                                   loss=keras.losses.KLDivergence())
  reference = float(keras_kd.compute_loss(_c(T), _c(Z)))
  terms = hinton_distillation(_c(Y), _c(Z), _c(T), soft_weight=0.7, temperature=temp)
  np.testing.assert_allclose(float(tf.reduce_mean(terms["soft"])), reference, rtol=1e-4)
  total = 0.3 * float(tf.reduce_mean(terms["hard"])) + 0.7 * reference
  np.testing.assert_allclose(float(tf.reduce_mean(terms["loss"])), total, rtol=1e-4)


def test_hinton_distillation_rejects_a_bad_weight():
  with pytest.raises(UserError, match="soft_weight"):
    hinton_distillation(_c(Y), _c(Z), _c(T), soft_weight=1.5)


def test_mimic_loss_mixes_l2_and_cross_entropy():
  # L2 by hand: ex 0 diffs (-1, .5, .5) -> 0.75; ex 1 diffs (3, -.5, -2) -> 6.625.
  l2 = [0.75, 6.625]
  ce = [-_log_softmax(z)[y] for z, y in zip(Z, Y)]
  np.testing.assert_allclose(mimic_loss(_c(Y), _c(Z), _c(T))["loss"].numpy(), l2, rtol=1e-6)
  mixed = mimic_loss(_c(Y), _c(Z), _c(T), hard_weight=0.25)["loss"].numpy()
  np.testing.assert_allclose(mixed, [0.75 * a + 0.25 * b for a, b in zip(l2, ce)], rtol=1e-5)


def test_codistillation_loss_is_cross_entropy_plus_weighted_distillation():
  distill = lambda own, other: kl_softened(own, other, temperature=1.0)
  terms = codistillation_loss(_c(Y), _c(Z), _c(T), distill, 0.5)
  expected = [(-_log_softmax(z)[y]) + 0.5 * (_distn_by_hand(1.0, 1.0)[i])
              for i, (z, y) in enumerate(zip(Z, Y))]
  np.testing.assert_allclose(terms["loss"].numpy(), expected, rtol=1e-5)
  # The partner's logits are constants: no gradient flows into them.
  other = tf.Variable(T)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(codistillation_loss(_c(Y), _c(Z), other, distill, 1.0)["loss"])
  assert tape.gradient(loss, other) is None


SEED = tf.constant([3, 4], tf.int64)


def test_perturbation_off_is_the_identity_and_noisy_loss_is_l2():
  t = _c(T)
  np.testing.assert_array_equal(perturb_logits(t, SEED, 0.0, 0.0).numpy(), T)
  np.testing.assert_allclose(noisy_loss(_c(Z), t, SEED, 0.0, 0.0).numpy(),
                             l2_logits(_c(Z), t).numpy())


def test_perturbation_is_a_function_of_the_seed():
  t = _c(T)
  a = perturb_logits(t, SEED, 0.1, 0.1).numpy()
  np.testing.assert_array_equal(a, perturb_logits(t, SEED, 0.1, 0.1).numpy())
  assert not np.array_equal(a, perturb_logits(t, SEED + 1, 0.1, 0.1).numpy())


def test_perturbation_moments_match_the_noise_model():
  """t * (M + eps): E = t and Var = t^2 (r / (1 - r) + sigma^2); a fraction r of the masks is 0."""
  t = tf.fill([400, 250], 2.0)
  r, sigma = 0.1, 0.1
  out = perturb_logits(t, SEED, r, sigma).numpy() / 2.0  # = M + eps
  np.testing.assert_allclose(out.mean(), 1.0, atol=0.01)
  np.testing.assert_allclose(out.var(), r / (1 - r) + sigma ** 2, rtol=0.05)
  masks_only = perturb_logits(t, SEED, r, 0.0).numpy()
  np.testing.assert_allclose((masks_only == 0).mean(), r, atol=0.005)
  np.testing.assert_allclose(masks_only[masks_only != 0], 2.0 / (1 - r), rtol=1e-6)


@pytest.mark.parametrize("ratio,stddev", [(1.0, 0.1), (-0.1, 0.1), (0.1, -1.0)])
def test_perturbation_rejects_bad_noise(ratio, stddev):
  with pytest.raises(UserError):
    perturb_logits(_c(T), SEED, ratio, stddev)
