"""MIMIC (Ba & Caruana, "Do deep nets really need to be deep?", NIPS 2014).

C regresses the frozen, pretrained teacher's logits: 0.5 * ||t - z||^2 per example (the
authors' `tf.nn.l2_loss / B`), optionally mixed with the hard-label cross-entropy:
    loss = (1 - hard_weight) * 0.5 ||t - z||^2 + hard_weight * CE(y, z).
Defaults follow the authors' MNIST baseline (section 2.1 of original-kdgan-facts.md): the L2 term
alone. T runs in inference mode on the same (augmented) batch as C.
"""
import gin

from kdgan_tf.errors import UserError
from kdgan_tf.losses import cross_entropy, l2_logits
from kdgan_tf.trainers.base import GamePhase, Method, check_passes
from kdgan_tf.trainers.distillation_steps import student_step


def mimic_loss(labels, student_logits, teacher_logits, hard_weight=0.0, hard_loss=None):
  """Per-example MIMIC terms: "loss", "soft" (L2 on logits) and, if used, "hard" (`hard_loss`,
  the task's supervised loss; default the cross-entropy on class ids)."""
  soft = l2_logits(student_logits, teacher_logits)
  terms = {"soft": soft, "loss": (1.0 - hard_weight) * soft}
  if hard_weight:
    terms["hard"] = (hard_loss or cross_entropy)(labels, student_logits)
    terms["loss"] += hard_weight * terms["hard"]
  return terms


@gin.configurable
class MIMIC(Method):
  name = "mimic"
  players = ("classifier", "teacher")
  trained_players = ("classifier",)

  def __init__(self, hard_weight=0.0, passes=2):
    if not 0.0 <= hard_weight <= 1.0:
      raise UserError(f"MIMIC.hard_weight must be in [0, 1], got {hard_weight}.")
    check_passes("MIMIC", passes=passes)
    self.hard_weight, self.passes = float(hard_weight), passes

  def phases(self, ctx):
    def loss(labels, z, t, seed, task):
      del seed
      return mimic_loss(labels, z, t, self.hard_weight, hard_loss=task.supervised_loss)
    return [GamePhase("classifier", self.passes, student_step(ctx, loss))]
