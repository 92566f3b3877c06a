"""NaGAN: the two-player game of classifier C and discriminator D (paper Eq. 1; IRGAN-style,
Wang et al. 2017), the paper's adversarial baseline without a teacher.

Per game epoch: `d_passes` passes of D, then `c_passes` of C.
  D ascends   log p_d(x, y) + log(1 - p_d(x, z)),  z ~ p_c(y|x)  (20 samples per image);
  C descends  E_{z ~ p_c}[log(1 - p_d(x, z))]
with the same D, sampling and value function as KDGAN (kdgan_tf/trainers/adversarial_steps).
C's gradient comes from `estimator`: by default the score-function (REINFORCE) estimator, as in
IRGAN and the authors' NaGAN; `@concrete_pathwise` gives NaGAN with the concrete relaxation.
`supervised_weight` optionally adds a hard-label CE to C (0, as in Eq. 1).
"""
import gin

from kdgan_tf.estimators import reinforce
from kdgan_tf.trainers.adversarial_steps import discriminator_step, generator_step
from kdgan_tf.trainers.base import GamePhase, Method, check_passes


@gin.configurable
class NaGAN(Method):
  name = "nagan"
  players = ("classifier", "discriminator")

  def __init__(self, estimator=reinforce, num_negatives=20, d_passes=5, c_passes=2,
               supervised_weight=0.0):
    check_passes("NaGAN", d_passes=d_passes, c_passes=c_passes)
    self.estimator, self.num_negatives = estimator, int(num_negatives)
    self.passes = (d_passes, c_passes)
    self.supervised_weight = float(supervised_weight)

  def phases(self, ctx):
    d_passes, c_passes = self.passes
    return [
        GamePhase("discriminator", d_passes, discriminator_step(
            ctx, self.num_negatives, alpha=1.0, with_teacher=False)),
        GamePhase("classifier", c_passes, generator_step(
            ctx, "classifier", 1.0, self.estimator,
            supervised_weight=self.supervised_weight)),
    ]
