"""DISTN (Hinton, Vinyals, Dean, "Distilling the knowledge in a neural network", 2015).

C learns from the frozen, pretrained teacher's softened distribution and the hard labels:
    (1 - rho) * CE(y, z) + rho * T^2 * KL(softmax(t/T) || softmax(z/T)),
`losses.hinton_distillation`. Defaults rho = 0.7, T = 3: the authors' DISTN scripts (facts
section 1.6) and the reference KD of reference-accuracies.md. The authors' code used an MSE on
t/T - z/T instead of the KL; we implement the paper's (Hinton's) definition.
"""
import gin

from kdgan_tf.errors import UserError
from kdgan_tf.losses import hinton_distillation
from kdgan_tf.trainers.base import GamePhase, Method, check_passes
from kdgan_tf.trainers.distillation_steps import student_step


@gin.configurable
class DISTN(Method):
  name = "distn"
  players = ("classifier", "teacher")
  trained_players = ("classifier",)

  def __init__(self, soft_weight=0.7, temperature=3.0, passes=2):
    check_passes("DISTN", passes=passes)
    if not 0.0 <= soft_weight <= 1.0 or temperature <= 0:
      raise UserError(f"DISTN needs 0 <= soft_weight <= 1 and temperature > 0, got "
                      f"{soft_weight} and {temperature}.")
    self.soft_weight, self.temperature = float(soft_weight), float(temperature)
    self.passes = passes

  def phases(self, ctx):
    def loss(labels, z, t, seed, task):
      del seed
      return hinton_distillation(labels, z, t, self.soft_weight, self.temperature,
                                 hard_loss=task.supervised_loss)
    return [GamePhase("classifier", self.passes, student_step(ctx, loss))]
