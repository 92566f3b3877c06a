"""Distillation losses L_DS (the paper's Eq. 3 beta / gamma terms).

The teacher side is always wrapped in `tf.stop_gradient`: a distillation loss moves the STUDENT
only. In KDGAN both directions exist (C learns from T with weight beta, T from C with weight
gamma); each direction is a separate call with the roles set by the caller.
"""
import gin
import tensorflow as tf

from kdgan_tf.errors import UserError
from kdgan_tf.losses.supervised import cross_entropy


def _check_shapes(student_logits, teacher_logits):
  if student_logits.shape.rank != 2 or teacher_logits.shape.rank != 2:
    raise ValueError("distillation losses expect [batch, classes] logits, got "
                     f"{student_logits.shape} and {teacher_logits.shape}.")
  student_logits.shape.assert_is_compatible_with(teacher_logits.shape)


@gin.configurable
def l2_logits(student_logits, teacher_logits):
  """Ba & Caruana (2014) logit matching: 0.5 * ||t - z||^2 per example.

  This is the paper's reported choice and equals the authors' `tf.nn.l2_loss(t - z) / B` once
  averaged over the batch.

  Args:
    student_logits: [B, K] logits z of the model being trained.
    teacher_logits: [B, K] logits t of the other model (treated as constants).
  Returns:
    [B] per-example losses.
  """
  _check_shapes(student_logits, teacher_logits)
  diff = tf.stop_gradient(teacher_logits) - student_logits
  return 0.5 * tf.reduce_sum(tf.square(diff), axis=-1)


@gin.configurable
def kl_softened(student_logits, teacher_logits, temperature=3.0):
  """Hinton et al. (2015): T^2 * KL(softmax(t/T) || softmax(z/T)) per example.

  The T^2 factor keeps the gradient scale independent of T (Hinton et al., section 2.1).

  Args:
    student_logits: [B, K] logits z of the model being trained.
    teacher_logits: [B, K] logits t of the other model (treated as constants).
    temperature: softening temperature T > 0.
  Returns:
    [B] per-example losses.
  """
  _check_shapes(student_logits, teacher_logits)
  if temperature <= 0:
    raise UserError(f"kl_softened.temperature must be > 0, got {temperature}.")
  teacher_log_p = tf.nn.log_softmax(tf.stop_gradient(teacher_logits) / temperature, axis=-1)
  student_log_p = tf.nn.log_softmax(student_logits / temperature, axis=-1)
  kl = tf.reduce_sum(tf.exp(teacher_log_p) * (teacher_log_p - student_log_p), axis=-1)
  return temperature ** 2 * kl


def hinton_distillation(labels, student_logits, teacher_logits, soft_weight=0.7,
                        temperature=3.0, hard_loss=None):
  """DISTN (Hinton et al. 2015), per example:

      (1 - rho) * CE(y, softmax(z)) + rho * T^2 * KL(softmax(t/T) || softmax(z/T))

  with rho = `soft_weight` and T = `temperature`. This is the paper's KL form; the authors'
  MNIST code used an MSE between t/T and z/T instead (original-kdgan-facts.md section 1.6).

  Args:
    labels: [B] integer labels (or whatever `hard_loss` takes, e.g. multi-hot tags).
    student_logits, teacher_logits: [B, K].
    hard_loss: (labels, logits) -> [B]; default the softmax cross-entropy on class ids.
  Returns:
    dict of [B] terms: "loss" (the weighted sum), "hard" (CE) and "soft" (T^2 * KL).
  """
  if not 0.0 <= soft_weight <= 1.0:
    raise UserError(f"DISTN.soft_weight must be in [0, 1], got {soft_weight}.")
  soft = kl_softened(student_logits, teacher_logits, temperature=temperature)
  hard = (hard_loss or cross_entropy)(labels, student_logits)
  return {"loss": (1.0 - soft_weight) * hard + soft_weight * soft, "hard": hard, "soft": soft}


def perturb_logits(logits, seed, dropout_ratio=0.1, stddev=0.1):
  """Sau & Balasubramanian (2016) noisy teacher, as in the authors' code (facts section 1.6):

      t~ = t * (M + eps),  M_ij = Bernoulli(1 - r) / (1 - r),  eps_ij ~ N(0, sigma^2)

  so E[t~] = t and Var[t~_ij] = t_ij^2 (r / (1 - r) + sigma^2). Stateless: the same `seed`
  gives the same perturbation (a fresh seed per step gives a fresh perturbation).

  Args:
    logits: [B, K] teacher logits.
    seed: int32/int64 [2] stateless seed.
    dropout_ratio: r in [0, 1), the probability of zeroing a logit.
    stddev: sigma >= 0 of the additive noise on the multiplier.
  """
  if not 0.0 <= dropout_ratio < 1.0 or stddev < 0:
    raise UserError(f"NOISY needs 0 <= dropout_ratio < 1 and stddev >= 0, got {dropout_ratio} "
                    f"and {stddev}.")
  mask_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
  keep = tf.random.stateless_uniform(tf.shape(logits), mask_seed) >= dropout_ratio
  mask = tf.cast(keep, logits.dtype) / (1.0 - dropout_ratio)
  noise = stddev * tf.random.stateless_normal(tf.shape(logits), noise_seed, dtype=logits.dtype)
  return logits * (mask + noise)
