"""Distillation losses L_DS (the paper's Eq. 3 beta / gamma terms).

The teacher side is always wrapped in `tf.stop_gradient`: a distillation loss moves the STUDENT
only. In KDGAN both directions exist (C learns from T with weight beta, T from C with weight
gamma); each direction is a separate call with the roles set by the caller.
"""
import gin
import tensorflow as tf

from kdgan_tf.errors import UserError


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
