"""Adversarial terms of the KDGAN value function (paper Eq. 1-3, Algorithm 1).

The discriminator D has K logits g(x) (one per label, as in the authors' code). The probability
that a (features, label) pair is true is p_d(x, y) = sigmoid(g_y(x)); for a relaxed (soft) label
y~ we use sigmoid(sum_k y~_k g_k(x)), which equals the former when y~ is one-hot. Log-sigmoids
are written with softplus so no probability is ever rounded to 0 or 1.
"""
import tensorflow as tf


def pair_score(d_logits, labels):
  """Score s(x, y) = <y, g(x)> of (features, label) pairs.

  Args:
    d_logits: [B, K] discriminator logits g(x).
    labels: [B, K] (one label per example) or [B, S, K] (S sampled labels per example), one-hot
      or relaxed.
  Returns:
    [B] or [B, S] scores; p_d = sigmoid(score).
  """
  if labels.shape.rank == 2:
    return tf.reduce_sum(d_logits * labels, axis=-1)
  if labels.shape.rank == 3:
    return tf.einsum("bk,bsk->bs", d_logits, labels)
  raise ValueError(f"labels must be [B, K] or [B, S, K], got shape {labels.shape}.")


def log_sigmoid(score):
  """log p_d = log sigmoid(s), stable for large |s|."""
  return -tf.nn.softplus(-score)


def log_one_minus_sigmoid(score):
  """log(1 - p_d) = log sigmoid(-s), stable for large |s|."""
  return -tf.nn.softplus(score)


def generator_adversarial_value(d_logits, labels):
  """log(1 - p_d(x, y)) for generated labels; a generator (C or T) DESCENDS on its expectation.

  Returns [B] (labels [B, K]) or [B, S] (labels [B, S, K]).
  """
  return log_one_minus_sigmoid(pair_score(d_logits, labels))


def expected_adversarial_value(gen_logits, d_logits):
  """E_{y ~ p(y|x)}[log(1 - p_d(x, y))] in closed form over the K hard labels, per example [B].

  Why: each estimator logs its own sample average (relaxed labels under concrete_pathwise, hard
  ones under reinforce), so KDGAN's and KDGAN-WO-GM's logged adversarial losses measure
  different things; this one is the same quantity for every method and needs no sampling.
  """
  per_label = log_one_minus_sigmoid(d_logits)  # the pair score of the hard label e_k is g_k(x)
  return tf.reduce_sum(tf.nn.softmax(gen_logits, axis=-1) * per_label, axis=-1)


def discriminator_loss(d_logits, true_labels, c_samples, t_samples=None, alpha=1.0):
  """D's loss: the negative of Algorithm 1's ascent direction, per example.

  -[ log p_d(x, y) + alpha * mean_s log(1 - p_d(x, z_c,s))
     + (1 - alpha) * mean_s log(1 - p_d(x, z_t,s)) ]

  With `t_samples=None` and alpha = 1 this is NaGAN's (IRGAN's) two-player objective (Eq. 1).

  Args:
    d_logits: [B, K] discriminator logits.
    true_labels: [B, K] one-hot true labels (multi-label data: one true tag drawn per
      example, y ~ p_u, by the task).
    c_samples: [B, S, K] labels sampled from the classifier C.
    t_samples: [B, S, K] labels sampled from the teacher T, or None (two-player game).
    alpha: weight of C's samples; T's get 1 - alpha.
  Returns:
    [B] per-example losses.
  """
  if not 0.0 <= alpha <= 1.0:
    raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
  if true_labels.shape.rank != 2:
    raise ValueError(f"true_labels must be [B, K], got shape {true_labels.shape}.")
  for name, samples in (("c_samples", c_samples), ("t_samples", t_samples)):
    if samples is not None and samples.shape.rank != 3:
      raise ValueError(f"{name} must be [B, S, K] sampled labels, got shape {samples.shape}.")
  loss = -log_sigmoid(pair_score(d_logits, true_labels))
  loss -= alpha * tf.reduce_mean(generator_adversarial_value(d_logits, c_samples), axis=-1)
  if t_samples is not None:
    loss -= (1.0 - alpha) * tf.reduce_mean(
        generator_adversarial_value(d_logits, t_samples), axis=-1)
  return loss


def _x_log_x(x):
  """x ln x with 0 ln 0 = 0."""
  return tf.math.multiply_no_nan(tf.math.log(x), x)


def discriminator_loss_floor(true_dist, generated_dist):
  """D's best achievable loss, per example, given what it is shown (why D can sit at chance).

  D's loss on one x is -sum_k u_k log s_k - sum_k q_k log(1 - s_k), with u the distribution of
  its true labels (one-hot for a class label, uniform over the true tags for multi-label data)
  and q = alpha * p_c(.|x) + (1 - alpha) * p_t(.|x) the generators' label distribution. Each
  label's score s_k is free, so the minimum is at s_k = u_k / (u_k + q_k), with value
    sum_k (u_k + q_k) ln(u_k + q_k) - u_k ln u_k - q_k ln q_k.
  For one true label y with w = q_y this is (1 + w) ln(1 + w) - w ln w: 2 ln 2 (chance) at
  w = 1, where generated and true labels coincide and D has nothing to learn, 0 at w = 0.

  Args:
    true_dist: [B, K] u, rows summing to 1.
    generated_dist: [B, K] q, rows summing to 1.
  Returns:
    [B] floors, in nats.
  """
  u, q = tf.convert_to_tensor(true_dist), tf.convert_to_tensor(generated_dist)
  return tf.reduce_sum(_x_log_x(u + q) - _x_log_x(u) - _x_log_x(q), axis=-1)


def true_label_mass(true_dist, generated_dist):
  """w: the generators' probability mass on the true labels (the support of u), per example."""
  u, q = tf.convert_to_tensor(true_dist), tf.convert_to_tensor(generated_dist)
  return tf.reduce_sum(tf.where(u > 0, q, tf.zeros_like(q)), axis=-1)
