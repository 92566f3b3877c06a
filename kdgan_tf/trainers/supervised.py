"""SUPERVISED-C and SUPERVISED-T: one player trained on the n labels alone.

Not in the paper's Table 1, but needed to read it: SUPERVISED-C shows what distillation and the
adversarial game add to the lightweight classifier, SUPERVISED-T how good the teacher is. Each
starts from its pretrained player (like every method) and continues with the same
cross-entropy plus weight decay for the game epochs, with the game learning rate, the same
number of update passes per epoch as C gets in KDGAN, and the same selection rule: so any gain
of a method over SUPERVISED-C is not just "more training at a lower learning rate".
"""
import gin

from kdgan_tf.trainers.base import GamePhase, Method, check_passes
from kdgan_tf.trainers.supervised_steps import supervised_step


class _Supervised(Method):
  player = None

  def __init__(self, passes=2):
    check_passes(type(self).__name__, passes=passes)
    self.passes = passes

  @property
  def players(self):
    return (self.player,)

  @property
  def selected_player(self):
    return self.player

  def phases(self, ctx):
    step = supervised_step(ctx.models[self.player], ctx.optimizers[self.player],
                           ctx.global_batch_size, ctx.augment, ctx.task,
                           lambda features: ctx.inputs(self.player, features))
    return [GamePhase(self.player, self.passes, step)]


@gin.configurable
class SupervisedC(_Supervised):
  """C on the labels alone (no teacher, no discriminator)."""
  name = "supervised_c"
  player = "classifier"


@gin.configurable
class SupervisedT(_Supervised):
  """T on the labels alone; its selected accuracy is the teacher's, and nothing is exported."""
  name = "supervised_t"
  player = "teacher"
