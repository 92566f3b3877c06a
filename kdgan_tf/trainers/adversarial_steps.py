"""Step functions of the adversarial games (KDGAN, NaGAN, KDGAN-WO-GM), shared by their modules.

D scores (image, label) pairs: true labels against labels sampled from the generators (C, and
T in KDGAN). A generator (C or T) descends on `adv_weight` times its adversarial value, whose
gradient comes from a selectable estimator (kdgan_tf/estimators), plus optional distillation
from a partner and an optional hard-label term.
"""
import tensorflow as tf

from kdgan_tf.estimators import sample_labels
from kdgan_tf.losses import (discriminator_loss, discriminator_loss_floor,
                             expected_adversarial_value, pair_score, true_label_mass)
from kdgan_tf.trainers.base import split_seed


def discriminator_accuracies(d_logits, true_onehot, fake_samples):
  """D's accuracy on true pairs (p_d > 0.5) and on generated pairs (p_d < 0.5), per example.

  Measured on the batch D is trained on, with D's dropout on (no extra forward pass)."""
  true_acc = tf.cast(pair_score(d_logits, true_onehot) > 0.0, tf.float32)
  fake_acc = tf.reduce_mean(tf.cast(pair_score(d_logits, fake_samples) < 0.0, tf.float32), -1)
  return true_acc, fake_acc


def discriminator_step(ctx, num_negatives, alpha=1.0, with_teacher=True):
  """D's update against C's samples (weight alpha) and, in KDGAN, T's (weight 1 - alpha).

  The generators are sampled in inference mode (no dropout); D learns on hard sampled labels.
  """
  d = ctx.models["discriminator"]

  def step(features, labels, seed):
    aug_seed, c_seed, t_seed = split_seed(seed, 3)
    x = ctx.augment(features, aug_seed)
    # D's true pair: y ~ p_u(y|x) (the class itself, or one of the image's true tags); its own
    # stream, folded from the step seed, so single-label runs draw exactly as before.
    true = ctx.task.sample_true(labels, tf.random.experimental.stateless_fold_in(seed, 7919))
    c_logits = ctx.call("classifier", x, training=False)
    z_c = sample_labels(c_logits, num_negatives, c_seed)
    generated = alpha * tf.nn.softmax(c_logits)  # the weights D's loss gives each sample
    if with_teacher:
      t_logits = ctx.call("teacher", x, training=False)
      z_t = sample_labels(t_logits, num_negatives, t_seed)
      generated += (1.0 - alpha) * tf.nn.softmax(t_logits)
    else:
      z_t = None
    with tf.GradientTape() as tape:
      g = d(ctx.inputs("discriminator", x), training=True)
      loss = ctx.mean_over_batch(discriminator_loss(g, true, z_c, z_t, alpha))
      total = loss + ctx.regularization("discriminator")
    ctx.apply("discriminator", tape, total)
    fakes = tf.concat([z_c, z_t], axis=1) if with_teacher else z_c
    true_acc, fake_acc = discriminator_accuracies(g, true, fakes)
    # Why D can or cannot teach: w, the generators' mass on the true labels, and the lowest loss
    # any D could reach against them (losses/adversarial.py); d_loss near the floor at w ~ 1
    # means D sits at chance because C and T already fit these pairs.
    u = ctx.task.true_distribution(labels)
    return {"d_loss": loss, "d_acc_true": ctx.mean_over_batch(true_acc),
            "d_acc_generated": ctx.mean_over_batch(fake_acc),
            "d_true_mass": ctx.mean_over_batch(true_label_mass(u, generated)),
            "d_loss_floor": ctx.mean_over_batch(discriminator_loss_floor(u, generated))}

  return step


def generator_step(ctx, player, adv_weight, estimator, partner=None, distill_loss=None,
                   distill_weight=0.0, supervised_weight=0.0):
  """C's (or T's) update: adv_weight * adversarial term against D (gradient from `estimator`)
  + distill_weight * distillation from `partner` (inference mode) + supervised_weight * CE."""
  gen = ctx.models[player]
  prefix = "c" if player == "classifier" else "t"

  def step(features, labels, seed):
    aug_seed, est_seed = split_seed(seed, 2)
    x = ctx.augment(features, aug_seed)
    d_logits = ctx.call("discriminator", x, training=False)
    partner_logits = ctx.call(partner, x, training=False) if partner else None
    with tf.GradientTape() as tape:
      logits = gen(ctx.inputs(player, x), training=True)
      adv = estimator(logits, d_logits, ctx.tau, est_seed)
      total = adv_weight * ctx.mean_over_batch(adv.surrogate) + ctx.regularization(player)
      metrics = {f"{prefix}_adversarial": ctx.mean_over_batch(adv.value),
                 # comparable across estimators (the line above is each one's own sample mean)
                 f"{prefix}_adversarial_expected": ctx.mean_over_batch(
                     expected_adversarial_value(tf.stop_gradient(logits), d_logits))}
      if partner:
        distill = ctx.mean_over_batch(distill_loss(logits, partner_logits))
        total += distill_weight * distill
        metrics[f"{prefix}_distill"] = distill
      if supervised_weight:
        supervised = ctx.mean_over_batch(ctx.task.supervised_loss(labels, logits))
        total += supervised_weight * supervised
        metrics[f"{prefix}_supervised"] = supervised
    ctx.apply(player, tape, total)
    return metrics

  return step
