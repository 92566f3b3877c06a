"""Gradient estimators for grad E_{y ~ p(y|x)}[log(1 - p_d(x, y))] w.r.t. a generator's logits.

Each estimator returns a SURROGATE per-example loss whose gradient (w.r.t. the generator's
logits; D's logits are constants here) is the estimate, plus the actual adversarial value for
logging. The trainer multiplies the surrogate by alpha (C) or 1 - alpha (T) and DESCENDS on it.

(a) `concrete_score`    the paper's Eq. 8 as written: y ~ q(y|x) concrete with temperature tau,
                        z = onehot(argmax y), gradient E[grad log q(y|x) * log(1 - p_d(x, z))].
                        log q is evaluated in log-space (TFP's ExpRelaxedOneHotCategorical): the
                        log-space density differs from the simplex density by a Jacobian that
                        does not depend on the parameters, so the gradient is identical and
                        never hits log(0) at tau = 0.1.
(b) `concrete_pathwise` the same concrete samples, D evaluated on the relaxed y (or straight-
                        through on z), gradient taken through the reparameterised sample.
(c) `reinforce`         plain score function of the categorical p(y|x): KDGAN-WO-GM and the
                        IRGAN-style NaGAN.
`baseline=True` (score-function estimators only) subtracts the mean reward over the S samples
of the same example, a standard variance reduction; it keeps the estimate's direction unbiased
(it scales its expectation by (S-1)/S). Off by default because the paper does not use it.
"""
import collections

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from kdgan_tf.estimators.concrete import sample_labels
from kdgan_tf.losses.adversarial import generator_adversarial_value

EstimatorOutput = collections.namedtuple("EstimatorOutput", ["surrogate", "value"])
"""surrogate: [B] loss to descend on; value: [B] mean log(1 - p_d) of the sampled labels."""


def _swap_sample_axis(t):
  """TFP samples are [S, B, K]; our pair scores expect [B, S, K]."""
  return tf.transpose(t, [1, 0, 2])


def _centred(reward, baseline):
  reward = tf.stop_gradient(reward)
  if baseline:
    reward -= tf.reduce_mean(reward, axis=-1, keepdims=True)
  return reward


@gin.configurable
def concrete_score(gen_logits, d_logits, temperature, seed, num_samples=20, baseline=False):
  """(a) Score function of the concrete distribution (paper Eq. 8). Shapes: [B, K] -> [B]."""
  d_logits = tf.stop_gradient(d_logits)
  dist = tfp.distributions.ExpRelaxedOneHotCategorical(
      temperature=temperature, logits=tf.nn.log_softmax(gen_logits, axis=-1))
  log_y = tf.stop_gradient(dist.sample(num_samples, seed=seed))  # [S, B, K]
  z = tf.one_hot(tf.argmax(log_y, axis=-1), tf.shape(gen_logits)[-1], dtype=gen_logits.dtype)
  value = generator_adversarial_value(d_logits, _swap_sample_axis(z))  # [B, S]
  log_q = tf.transpose(dist.log_prob(log_y))  # [B, S]
  surrogate = tf.reduce_mean(_centred(value, baseline) * log_q, axis=-1)
  return EstimatorOutput(surrogate, tf.reduce_mean(value, axis=-1))


@gin.configurable
def concrete_pathwise(gen_logits, d_logits, temperature, seed, num_samples=20,
                      straight_through=False):
  """(b) Reparameterised concrete gradient through D's score of the relaxed label."""
  d_logits = tf.stop_gradient(d_logits)
  dist = tfp.distributions.RelaxedOneHotCategorical(
      temperature=temperature, logits=tf.nn.log_softmax(gen_logits, axis=-1))
  y = _swap_sample_axis(dist.sample(num_samples, seed=seed))  # [B, S, K], differentiable
  if straight_through:
    hard = tf.one_hot(tf.argmax(y, axis=-1), tf.shape(gen_logits)[-1], dtype=y.dtype)
    y = hard + y - tf.stop_gradient(y)
  value = generator_adversarial_value(d_logits, y)  # [B, S]
  per_example = tf.reduce_mean(value, axis=-1)
  return EstimatorOutput(per_example, tf.stop_gradient(per_example))


@gin.configurable
def reinforce(gen_logits, d_logits, temperature, seed, num_samples=20, baseline=False):
  """(c) REINFORCE on the categorical p(y|x); `temperature` is ignored (no relaxation)."""
  del temperature
  d_logits = tf.stop_gradient(d_logits)
  z = sample_labels(gen_logits, num_samples, seed)  # [B, S, K]
  value = generator_adversarial_value(d_logits, z)  # [B, S]
  log_p = tf.einsum("bk,bsk->bs", tf.nn.log_softmax(gen_logits, axis=-1), z)
  surrogate = tf.reduce_mean(_centred(value, baseline) * log_p, axis=-1)
  return EstimatorOutput(surrogate, tf.reduce_mean(value, axis=-1))
