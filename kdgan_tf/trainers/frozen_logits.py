"""Logits of the players a game phase does not update, computed once instead of on every step.

Why: every game update also runs the other players forward in inference mode (KDGAN's D pass
runs C and T for negatives, T's runs D and C, C's runs D and T; the KD baselines run the frozen
T on every step), and on CIFAR-10 those forward passes are most of what a KDGAN epoch costs
beyond three plain epochs (docs/findings.md). A player that a phase does not update gives the
same logits to the same image in the same form throughout that phase. So when the game's
augmentation takes finitely many forms (none: 1; mirroring: 2; augment.finite_variants), each
such player's logits for every training example in every form are computed in evaluation-size
batches when the player is stale (it is, at the start of the game and after a phase that updated
it), and the steps gather them by example index and form (StepContext.call). The values are the
per-step forward pass's up to floating-point round-off (tests/test_frozen_logits.py). Continuous
augmentations (random_affine, pad_crop_flip) keep the per-step forward pass.
"""
import tensorflow as tf

from kdgan_tf.data import views as views_lib

INDEX_KEY = "_index"  # position of the example in the training split (in every training batch)
FORM_KEY = "_form"  # which form of the augmentation the step gave it (added by StepContext)
MAX_TABLE_ENTRIES = 1 << 26  # n * forms * classes per player (256 MB of float32) at most


def phase_updates(phase):
  """The players a GamePhase updates: its `updates`, or the player it is named after."""
  return tuple(phase.updates) if phase.updates else (phase.name,)


def table_plan(phases, players, forms):
  """[set of players read from tables, per phase]: a player is tabled through each cyclic run
  of consecutive phases that do not update it when the run has more passes than `forms`.

  Why: one refresh costs `forms` forward passes over the split and serves the whole run (the
  player does not change in it), while the per-step forward costs one pass per pass of the
  run; at equal cost the per-step forward wins (no refresh overhead). A player no phase
  updates (DISTN's T) is tabled throughout, filled once for the whole game. `phases`: the
  GamePhases of one epoch, which repeat every epoch."""
  passes = [max(int(ph.passes), 0) for ph in phases]
  updates = [phase_updates(ph) for ph in phases]
  plan = [set() for _ in phases]
  for player in players:
    updating = [i for i, u in enumerate(updates) if player in u and passes[i]]
    if not updating:
      for i in range(len(phases)):
        plan[i].add(player)
      continue
    for k, start in enumerate(updating):  # the run after each updating phase, cyclically
      end = updating[(k + 1) % len(updating)] + (len(phases) if k + 1 == len(updating) else 0)
      run = [j % len(phases) for j in range(start + 1, end)]
      if sum(passes[j] for j in run) > forms:
        for j in run:
          plan[j].add(player)
  return plan


def _fill_function(model, views, augment, forms, batch_size):
  """A tf.function features {view: [n, ...]} -> [n, forms, classes]: `model`'s inference-mode
  logits of every example in every form, `batch_size` examples at a time. It takes the split as
  an argument (not a captured constant: CIFAR-10's 45,000 images would overflow the graph) and
  runs in cross-replica context, so every replica and worker holds the whole table."""
  select = views_lib.selector(views)

  @tf.function
  def fill(features):
    n = tf.shape(features[views[0]])[0]
    chunks = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False)
    for i in tf.range((n + batch_size - 1) // batch_size):
      chunk = {v: features[v][i * batch_size:(i + 1) * batch_size] for v in views}
      chunks = chunks.write(i, tf.stack(
          [model(select(augment(chunk, form)), training=False) for form in range(forms)],
          axis=1))
    return chunks.concat()

  return fill


class FrozenLogits:
  """One [n, forms, classes] table per player; `refresh(frozen)` before a phase fills those of
  the `frozen` players that are stale, `updated(players)` after it marks players stale."""

  def __init__(self, strategy, train_split, models, views, num_classes, variants,
               eval_batch_size):
    self.strategy, self.variants, self.n = strategy, variants, len(train_split)
    self._fills, self.tables, self._inputs = {}, {}, {}
    self._split, self._views = train_split, views
    if self.n * variants.count * num_classes > MAX_TABLE_ENTRIES:
      models = {}  # too large to keep: the players run forward on every step, as before
    augment = views_lib.augmenter(lambda images, form: variants.apply(images, form))
    for player, model in models.items():
      self._fills[player] = _fill_function(model, views[player], augment, variants.count,
                                           int(eval_batch_size))
      with strategy.scope():
        self.tables[player] = tf.Variable(
            tf.zeros([self.n, variants.count, num_classes]), trainable=False,
            name=f"frozen_logits_{player}")
    self.stale = set(self.tables)
    self.refreshes = 0  # how many tables were (re)computed: tests and benchmarks read it

  def refresh(self, frozen):
    """Recomputes the tables of the `frozen` players that are stale."""
    for player in sorted(set(frozen) & self.stale):
      # The split becomes a tensor at the first refresh that needs it (CIFAR-10's 45,000
      # training images are 550 MB of float32): a run whose plan tables nothing never copies it.
      for view in self._views[player]:
        if view not in self._inputs:
          self._inputs[view] = tf.convert_to_tensor(self._split.views[view])
      self.tables[player].assign(self._fills[player]({v: self._inputs[v]
                                                      for v in self._views[player]}))
      self.stale.discard(player)
      self.refreshes += 1

  def updated(self, players):
    self.stale.update(p for p in players if p in self.tables)

  def forms(self, images, seed):
    """[B] int32: the form of each image that the step's augmentation under `seed` gives."""
    return self.variants.ids(images, seed)

  def lookup(self, player, features):
    """The stored logits of `player` for the batch's examples in their forms ([B, classes])."""
    index = tf.stack([tf.cast(features[INDEX_KEY], tf.int32), features[FORM_KEY]], axis=-1)
    return tf.gather_nd(self.tables[player], index)
