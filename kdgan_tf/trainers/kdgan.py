"""KDGAN: the three-player game of classifier C, teacher T and discriminator D (paper Alg. 1).

Per game epoch: `d_passes` passes of D, `t_passes` of T, `c_passes` of C.
  D ascends   log p_d(x, y) + alpha log(1 - p_d(x, z_c)) + (1 - alpha) log(1 - p_d(x, z_t)),
              z_c ~ p_c(y|x), z_t ~ p_t(y|x) (= argmax of concrete samples; same distribution).
  T descends  (1 - alpha) * adv_T + gamma * L_DS(T learns from C)
  C descends  alpha * adv_C + beta * L_DS(C learns from T)
where adv_* is E[log(1 - p_d)] under the generator, its gradient given by `estimator`
(`concrete_pathwise`, `concrete_score` or `reinforce`; the last is KDGAN-WO-GM).
Choices where the paper is silent (written here so they are visible):
  * the other player's logits (soft targets) come from its inference mode (no dropout), as in
    the authors' code; D's scores used as rewards also come from D in inference mode (the
    authors left D's dropout on there);
  * D is trained on hard sampled labels z, also when the generators use relaxed labels;
  * `supervised_weight` adds a hard-label cross-entropy to C and T; 0 by default (Alg. 1 has
    none: the true labels reach C only through D and T).
"""
import gin
import tensorflow as tf

from kdgan_tf.errors import UserError
from kdgan_tf.estimators import concrete_pathwise, sample_labels
from kdgan_tf.losses import cross_entropy, discriminator_loss, l2_logits, pair_score
from kdgan_tf.trainers.base import GamePhase, Method, split_seed


def discriminator_accuracies(d_logits, true_onehot, fake_samples):
  """D's accuracy on true pairs (p_d > 0.5) and on generated pairs (p_d < 0.5), per example.

  Measured on the batch D is trained on, with D's dropout on (no extra forward pass)."""
  true_acc = tf.cast(pair_score(d_logits, true_onehot) > 0.0, tf.float32)
  fake_acc = tf.reduce_mean(tf.cast(pair_score(d_logits, fake_samples) < 0.0, tf.float32), -1)
  return true_acc, fake_acc


@gin.configurable
class KDGAN(Method):
  """The paper's method. Hyperparameters are documented in gin_configs/mnist.gin."""

  name = "kdgan"
  players = ("classifier", "teacher", "discriminator")

  def __init__(self, alpha=0.5, beta=1.0, gamma=0.01, distill_loss=l2_logits,
               estimator=concrete_pathwise, num_negatives=20, d_passes=1, t_passes=1,
               c_passes=1, supervised_weight=0.0):
    if not 0.0 <= alpha <= 1.0:
      raise UserError(f"KDGAN.alpha must be in [0, 1], got {alpha}.")
    if beta < 0 or gamma < 0 or supervised_weight < 0:
      raise UserError("KDGAN.beta, gamma and supervised_weight must be >= 0.")
    for key, passes in (("d_passes", d_passes), ("t_passes", t_passes), ("c_passes", c_passes)):
      if passes < 0:
        raise UserError(f"KDGAN.{key} must be >= 0, got {passes}.")
    self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
    self.distill_loss, self.estimator = distill_loss, estimator
    self.num_negatives = int(num_negatives)
    self.passes = (d_passes, t_passes, c_passes)
    self.supervised_weight = float(supervised_weight)

  def phases(self, ctx):
    d_passes, t_passes, c_passes = self.passes
    return [GamePhase("discriminator", d_passes, self._discriminator_step(ctx)),
            GamePhase("teacher", t_passes, self._generator_step(
                ctx, "teacher", "classifier", 1.0 - self.alpha, self.gamma)),
            GamePhase("classifier", c_passes, self._generator_step(
                ctx, "classifier", "teacher", self.alpha, self.beta))]

  def _discriminator_step(self, ctx):
    c, t, d = (ctx.models[p] for p in ("classifier", "teacher", "discriminator"))

    def step(images, labels, seed):
      aug_seed, c_seed, t_seed = split_seed(seed, 3)
      x = ctx.augment_fn(images, aug_seed)
      true = tf.one_hot(labels, ctx.num_classes)
      z_c = sample_labels(c(x, training=False), self.num_negatives, c_seed)
      z_t = sample_labels(t(x, training=False), self.num_negatives, t_seed)
      with tf.GradientTape() as tape:
        g = d(x, training=True)
        loss = ctx.mean_over_batch(discriminator_loss(g, true, z_c, z_t, self.alpha))
        total = loss + ctx.regularization("discriminator")
      ctx.apply("discriminator", tape, total)
      true_acc, fake_acc = discriminator_accuracies(g, true, tf.concat([z_c, z_t], axis=1))
      return {"d_loss": loss, "d_acc_true": ctx.mean_over_batch(true_acc),
              "d_acc_generated": ctx.mean_over_batch(fake_acc)}

    return step

  def _generator_step(self, ctx, player, partner, adv_weight, distill_weight):
    """C's (or T's) update: adversarial term against D plus distillation from its partner."""
    gen, other, d = ctx.models[player], ctx.models[partner], ctx.models["discriminator"]
    prefix = "c" if player == "classifier" else "t"

    def step(images, labels, seed):
      aug_seed, est_seed = split_seed(seed, 2)
      x = ctx.augment_fn(images, aug_seed)
      d_logits = d(x, training=False)
      partner_logits = other(x, training=False)
      with tf.GradientTape() as tape:
        logits = gen(x, training=True)
        adv = self.estimator(logits, d_logits, ctx.tau, est_seed)
        adv_loss = ctx.mean_over_batch(adv.surrogate)
        distill = ctx.mean_over_batch(self.distill_loss(logits, partner_logits))
        total = adv_weight * adv_loss + distill_weight * distill + ctx.regularization(player)
        metrics = {f"{prefix}_adversarial": ctx.mean_over_batch(adv.value),
                   f"{prefix}_distill": distill}
        if self.supervised_weight:
          supervised = ctx.mean_over_batch(cross_entropy(labels, logits))
          total += self.supervised_weight * supervised
          metrics[f"{prefix}_supervised"] = supervised
      ctx.apply(player, tape, total)
      return metrics

    return step
