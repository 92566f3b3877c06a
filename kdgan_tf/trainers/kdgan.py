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

from kdgan_tf.errors import UserError
from kdgan_tf.estimators import concrete_pathwise
from kdgan_tf.losses import l2_logits
from kdgan_tf.trainers.adversarial_steps import discriminator_step, generator_step
from kdgan_tf.trainers.base import GamePhase, Method, check_passes


@gin.configurable
class KDGAN(Method):
  """The paper's method. Hyperparameters are documented in gin_configs/mnist.gin."""

  name = "kdgan"
  players = ("classifier", "teacher", "discriminator")

  def __init__(self, alpha=0.5, beta=1.0, gamma=0.01, distill_loss=l2_logits,
               estimator=concrete_pathwise, num_negatives=20, d_passes=1, t_passes=1,
               c_passes=1, supervised_weight=0.0):
    if not 0.0 <= alpha <= 1.0:
      raise UserError(f"{type(self).__name__}.alpha must be in [0, 1], got {alpha}.")
    if beta < 0 or gamma < 0 or supervised_weight < 0:
      raise UserError(f"{type(self).__name__}.beta, gamma and supervised_weight must be >= 0.")
    check_passes(type(self).__name__, d_passes=d_passes, t_passes=t_passes, c_passes=c_passes)
    self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
    self.distill_loss, self.estimator = distill_loss, estimator
    self.num_negatives = int(num_negatives)
    self.passes = (d_passes, t_passes, c_passes)
    self.supervised_weight = float(supervised_weight)

  def phases(self, ctx):
    d_passes, t_passes, c_passes = self.passes
    common = dict(estimator=self.estimator, distill_loss=self.distill_loss,
                  supervised_weight=self.supervised_weight)
    return [
        GamePhase("discriminator", d_passes,
                  discriminator_step(ctx, self.num_negatives, alpha=self.alpha)),
        GamePhase("teacher", t_passes, generator_step(
            ctx, "teacher", 1.0 - self.alpha, partner="classifier", distill_weight=self.gamma,
            **common)),
        GamePhase("classifier", c_passes, generator_step(
            ctx, "classifier", self.alpha, partner="teacher", distill_weight=self.beta,
            **common)),
    ]
