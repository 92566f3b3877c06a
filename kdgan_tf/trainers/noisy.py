"""NOISY (Sau & Balasubramanian, "Deep model compression: distilling knowledge from noisy
teachers", 2016).

C regresses the frozen teacher's logits perturbed afresh at every step,
    0.5 * || t * (M + eps) - z ||^2,  M = Bernoulli(1 - r) / (1 - r),  eps ~ N(0, sigma^2),
as in the authors' code (r = sigma = 0.1; `losses.perturb_logits`). This is the authors' variant:
Sau & Balasubramanian perturb the logits as (1 + xi) * z on a fraction of the samples; reports
label the row accordingly. r and sigma came from the authors' scripts (chosen on the test set). The noise is drawn inside the
compiled step from the step's stateless seed, so it differs per step and replica yet a resumed
run draws the same noise as an uninterrupted one.
"""
import gin

from kdgan_tf.errors import UserError
from kdgan_tf.losses import l2_logits, perturb_logits
from kdgan_tf.trainers.base import GamePhase, Method, check_passes
from kdgan_tf.trainers.distillation_steps import student_step


def noisy_loss(student_logits, teacher_logits, seed, dropout_ratio=0.1, stddev=0.1):
  """Per-example L2 to the perturbed teacher logits."""
  return l2_logits(student_logits, perturb_logits(teacher_logits, seed, dropout_ratio, stddev))


@gin.configurable
class NOISY(Method):
  name = "noisy"
  players = ("classifier", "teacher")
  trained_players = ("classifier",)

  def __init__(self, dropout_ratio=0.1, stddev=0.1, passes=2):
    check_passes("NOISY", passes=passes)
    if not 0.0 <= dropout_ratio < 1.0 or stddev < 0:
      raise UserError(f"NOISY needs 0 <= dropout_ratio < 1 and stddev >= 0, got "
                      f"{dropout_ratio} and {stddev}.")
    self.dropout_ratio, self.stddev, self.passes = float(dropout_ratio), float(stddev), passes

  def phases(self, ctx):
    def loss(labels, z, t, seed, task):
      del labels, task
      return {"loss": noisy_loss(z, t, seed, self.dropout_ratio, self.stddev)}
    return [GamePhase("classifier", self.passes, student_step(ctx, loss))]
