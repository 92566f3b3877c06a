"""What a training method is: the players it needs and the steps of one game epoch.

A method (KDGAN, NaGAN, a KD baseline, ...) is one module with a gin-configurable subclass of
`Method`; the shared loop in `loop.py` pretrains the players, runs the method's phases epoch by
epoch under a `tf.distribute` strategy, evaluates, checkpoints and exports. Adding a method never
touches the loop.
"""
import collections
import threading

import tensorflow as tf

from kdgan_tf.data import views as views_lib
from kdgan_tf.errors import UserError
from kdgan_tf.trainers import frozen_logits

GamePhase = collections.namedtuple("GamePhase", ["name", "passes", "step_fn", "updates"],
                                   defaults=(None,))
"""One phase of a game epoch: `passes` passes over the n training images (floor(n/B) steps each)
of `step_fn(features, labels, seed) -> {metric_name: scalar}`, run inside `strategy.run`;
`features` is the batch's {view: tensor} dict (`StepContext.inputs` picks a player's views).
Metrics that are losses must already be averaged over the GLOBAL batch (see `StepContext`) so
that summing them over replicas gives the batch mean. `updates`: the players the step updates
(None: the player `name`); the others' inference-mode logits may come from a table computed
once for the phase (trainers/frozen_logits.py), so a step must update no player it does not
list."""

PLAYERS = ("classifier", "teacher", "discriminator")


class StepContext:
  """Everything a method's step functions need, built by the loop inside `strategy.scope()`."""

  def __init__(self, models, optimizers, tau, task, global_batch_size, augment_fn, views,
               frozen_logits=None):
    self.models = models  # {"classifier": keras.Model, ...}: only the players the method needs
    self.optimizers = optimizers  # game optimizers, same keys
    self.tau = tau  # non-trainable tf.Variable: the concrete temperature of this epoch
    self.task = task  # kdgan_tf/tasks.py: supervised loss, D's true pairs, measures
    self.num_classes = task.num_classes
    self.global_batch_size = global_batch_size
    self.augment_fn = augment_fn  # (images, seed) -> images; identity when augmentation is off
    self.views = views  # {player: view names it reads}
    self._augment = views_lib.augmenter(augment_fn)
    self._select = {p: views_lib.selector(v) for p, v in views.items()}
    self.frozen_logits = frozen_logits  # trainers/frozen_logits.FrozenLogits or None
    # Players whose logits the phase being traced reads from the tables, per tracing thread:
    # MirroredStrategy traces each replica's step in its own thread, and the threads take turns
    # at merge calls, so one shared attribute could hand one replica another phase's set.
    self._tracing = threading.local()

  def augment(self, features, seed):
    """The batch's views with the image view augmented (when augmentation is on), and, when
    frozen players' logits are tabled, the form each image took."""
    out = self._augment(features, seed)
    if self.frozen_logits is not None and frozen_logits.INDEX_KEY in features:
      image = features.get(views_lib.INFERENCE_VIEW)
      batch = tf.shape(features[frozen_logits.INDEX_KEY])[0]
      augmented = image is not None and image.shape.rank == 4
      out = dict(out, **{frozen_logits.FORM_KEY: self.frozen_logits.forms(image, seed)
                         if augmented else tf.zeros([batch], tf.int32)})
    return out

  def inputs(self, player, features):
    """What `player` reads of the batch: its one view's tensor, or a dict of its views."""
    return self._select[player](features)

  def call(self, player, features, training):
    """`player`'s logits for the batch; in inference mode, for a player the phase does not
    update, read from its table when there is one (the same values, without the forward)."""
    if (not training and player in getattr(self._tracing, "frozen", ())
        and frozen_logits.FORM_KEY in features):
      return self.frozen_logits.lookup(player, features)
    return self.models[player](self.inputs(player, features), training=training)

  def phase_step(self, phase, tabled=()):
    """`phase.step_fn`, reading the `tabled` players (ones it does not update) from their
    tables (the loop compiles this, and refreshes their tables before the phase runs)."""
    updates = frozen_logits.phase_updates(phase)
    if self.frozen_logits is None:
      tabled = ()
    frozen = tuple(p for p in tabled if p not in updates and p in self.frozen_logits.tables)

    def step(features, labels, seed):
      previous = getattr(self._tracing, "frozen", ())
      self._tracing.frozen = frozen  # read by `call` while this thread traces the step
      try:
        return phase.step_fn(features, labels, seed)
      finally:
        self._tracing.frozen = previous

    return step

  def mean_over_batch(self, per_example):
    """Averages a [B] per-replica loss over the global batch (distribution-correct)."""
    return tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch_size)

  def regularization(self, player):
    """The player's weight-decay penalty, scaled for summation over replicas."""
    losses = self.models[player].losses
    if not losses:
      return tf.constant(0.0)
    return tf.nn.scale_regularization_loss(tf.add_n(losses))

  def apply(self, player, tape, loss):
    """One optimizer update of `player` from `loss` recorded on `tape`."""
    model = self.models[player]
    grads = tape.gradient(loss, model.trainable_variables)
    self.optimizers[player].apply_gradients(zip(grads, model.trainable_variables))


def split_seed(seed, num):
  """`num` independent stateless seeds from one int [2] seed."""
  return tf.unstack(tf.random.experimental.stateless_split(seed, num=num))


def check_passes(method, **passes):
  """Passes per game epoch are counts: a negative one is a gin typo, not a request."""
  for key, value in passes.items():
    if value < 0:
      raise UserError(f"{method}.{key} must be >= 0, got {value}.")


class Method:
  """Base class. Subclasses set `players` and implement `phases(ctx)`.

  Attributes:
    name: the method's name in metrics.json and reports.
    players: the players the method builds; each is pretrained (or loaded from the pretraining
      cache) before the game.
    trained_players: the players the game updates (default: all); the others are frozen and
      evaluated once, after pretraining.
    selected_player: whose validation accuracy selects the reported epoch; its best weights
      are kept and, for the classifier, exported.
  """

  name = "method"
  players = PLAYERS
  selected_player = "classifier"

  @property
  def trained_players(self):
    return self.players

  def phases(self, ctx):
    """Returns the list of GamePhase run, in order, in every game epoch."""
    raise NotImplementedError
