"""CODIS: codistillation (Anil, Pereyra, Passos, Ormandi, Dahl, Hinton, "Large scale distributed
neural network training through online distillation", ICLR 2018).

C and T train at the same time from the labels, and each is also distilled towards the other's
CURRENT predictions:
    C: CE(y, z) + weight * D(z <- t),    T: CE(y, t) + weight * D(t <- z),
both updated in the same step from the same batch, each seeing the other's logits as computed
before either update (in inference mode, as every soft target in this project).
Choices where the paper and the authors' code are silent (KDGAN's authors had no CODIS code):
  * both players start from their pretrained weights, like every method here, so Anil et al.'s
    burn-in (distillation switched on after a while) is not needed;
  * D = temperature^2 * KL(softmax(other / temperature) || softmax(own / temperature)) with
    temperature 1 (Anil et al. distil the other model's predictive distribution), weight 1;
    `distill_loss = @l2_logits` switches to logit matching;
  * T is the LeNet teacher (the paper pairs C with a larger partner), trained with the same
    game learning rate and weight decay as in KDGAN; one pass of both players per `passes`.
"""
import gin
import tensorflow as tf

from kdgan_tf.errors import UserError
from kdgan_tf.losses import cross_entropy, kl_softened
from kdgan_tf.trainers.base import GamePhase, Method, check_passes, split_seed


def codistillation_loss(labels, own_logits, other_logits, distill_loss, distill_weight,
                        hard_loss=cross_entropy):
  """Per-example terms of one codistilling player: "loss" = "hard" + weight * "distill"
  (`hard_loss`: the task's supervised loss)."""
  hard = hard_loss(labels, own_logits)
  distill = distill_loss(own_logits, other_logits)
  return {"loss": hard + distill_weight * distill, "hard": hard, "distill": distill}


@gin.configurable
class CODIS(Method):
  name = "codis"
  players = ("classifier", "teacher")

  def __init__(self, distill_weight=1.0, temperature=1.0, distill_loss=None, passes=2):
    check_passes("CODIS", passes=passes)
    if distill_weight < 0 or temperature <= 0:
      raise UserError(f"CODIS needs distill_weight >= 0 and temperature > 0, got "
                      f"{distill_weight} and {temperature}.")
    self.distill_weight, self.passes = float(distill_weight), passes
    self.distill_loss = distill_loss or (
        lambda own, other: kl_softened(own, other, temperature=temperature))

  def phases(self, ctx):
    c, t = ctx.models["classifier"], ctx.models["teacher"]

    def step(features, labels, seed):
      (aug_seed,) = split_seed(seed, 1)
      x = ctx.augment(features, aug_seed)
      c_target, t_target = ctx.call("classifier", x, False), ctx.call("teacher", x, False)
      metrics = {}
      for player, model, target, prefix in (("classifier", c, t_target, "c"),
                                            ("teacher", t, c_target, "t")):
        with tf.GradientTape() as tape:
          terms = {k: ctx.mean_over_batch(v) for k, v in codistillation_loss(
              labels, model(ctx.inputs(player, x), training=True), target, self.distill_loss,
              self.distill_weight, hard_loss=ctx.task.supervised_loss).items()}
          total = terms["loss"] + ctx.regularization(player)
        ctx.apply(player, tape, total)
        metrics.update({f"{prefix}_{k}": v for k, v in terms.items()})
      return metrics

    return [GamePhase("codistill", self.passes, step, updates=("classifier", "teacher"))]
