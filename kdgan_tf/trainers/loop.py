"""The one training loop every method shares: pretrain -> game epochs -> export.

Design (see README "Architecture"):
  * Every per-step computation runs inside a `tf.function` that executes MANY steps per call
    (`tf.range` loop over a distributed iterator), so Python runs once per pass, not per step.
  * Under any `tf.distribute` strategy: models/optimizers live in `strategy.scope()`, batches come
    from `experimental_distribute_dataset`, losses are averaged over the global batch and metrics
    are reduced explicitly with `strategy.reduce(SUM)`.
  * Randomness is stateless: each step's seed is (seed, counter), the counter is a checkpointed
    variable, and the replica id is folded in. Batch order is a function of (seed, phase, epoch).
    So a killed run resumes where it stopped and reproduces the uninterrupted run's sampling.
  * State lives in one `tf.train.Checkpoint` (players, optimizers, tau, phase, epoch, counter);
    finished-phase products (best weights, metrics.json) are written atomically next to it.
"""
import os
import time

import gin
import keras
import numpy as np
import tensorflow as tf

from kdgan_tf import distribute
from kdgan_tf import metrics as run_metrics
from kdgan_tf import outputs
from kdgan_tf import probes
from kdgan_tf import tasks
from kdgan_tf.data import pipeline
from kdgan_tf.data import views as views_lib
from kdgan_tf.data.augment import no_augment
from kdgan_tf.errors import CheckpointError, TrainingDivergedError, UserError
from kdgan_tf.progress import progress_bar
from kdgan_tf.trainers.base import PLAYERS, StepContext
from kdgan_tf.trainers.evaluation import EvaluationPolicy
from kdgan_tf.trainers.pretrain_cache import PretrainCache, cache_key
from kdgan_tf.trainers.supervised import supervised_step

_GAME = "game"
# Every player's pretraining and the game draw from their own random streams (initialisation,
# dropout, batch order, step seeds), so a pretrained player depends only on (data, seed,
# player, settings) -- never on which other players the method has -- and can be cached.
_PLAYER_INDEX = {p: i for i, p in enumerate(PLAYERS)}
_COUNTER_BLOCK = 1 << 40  # step-seed counter range of one phase
_GAME_INDEX = len(PLAYERS)
_PREFIX = {"classifier": "c", "teacher": "t"}  # metric-name prefixes of the evaluated players


def _player_seed(seed, player, salt=0):
  """A 31-bit seed for Keras' global RNG, distinct per (seed, player, salt)."""
  return (int(seed) * 1_000_003 + 7_919 * (_PLAYER_INDEX[player] + 1) + 104_729 * salt) % (2**31)


@gin.configurable
def player_settings(pretrain_epochs=200, pretrain_learning_rate=1e-3, pretrain_batch_size=None,
                    pretrain_patience=None, pretrain_augment=False, game_learning_rate=5e-4,
                    pretrain_eval_every=1, pretrain_augmentation=None):
  """Per-player settings; bind them with a gin scope, e.g. `teacher/player_settings.*`.

  Args:
    pretrain_epochs: epochs of ordinary supervised pretraining (0 skips it).
    pretrain_learning_rate: Adam learning rate while pretraining.
    pretrain_batch_size: batch size while pretraining (None: the experiment's batch size).
    pretrain_patience: stop pretraining after this many epochs without a better validation
      accuracy (None: never). The best-validation weights are kept either way.
    pretrain_augment: apply the experiment's augmentation while pretraining too (the authors
      pretrained without it; the strong recipe of reference-accuracies.md uses it).
    game_learning_rate: Adam learning rate of the player during the game.
    pretrain_eval_every: evaluate on the validation split every this many epochs (and at the
      last); patience counts the epochs in between. At CIFAR-10's n = 500 an epoch is 8 steps
      while a validation pass over 5,000 images costs ten times that.
    pretrain_augmentation: this player's own pretraining augmentation, e.g. `@pad_crop_flip`
      for a teacher that overfits under the run's (None: the run's `augmentation`, if
      `pretrain_augment`). Setting it implies augmented pretraining; the game keeps the run's.
  """
  return dict(pretrain_epochs=int(pretrain_epochs),
              pretrain_learning_rate=float(pretrain_learning_rate),
              pretrain_batch_size=pretrain_batch_size, pretrain_patience=pretrain_patience,
              pretrain_augment=bool(pretrain_augment),
              game_learning_rate=float(game_learning_rate),
              pretrain_eval_every=max(1, int(pretrain_eval_every)),
              pretrain_augmentation=pretrain_augmentation)


def _settings(player):
  with gin.config_scope(player):
    return player_settings()


def _write_operative_config(model_dir):
  """gin records only what has been called, so the file is refreshed as the run proceeds; it is
  never replaced by a shorter one (a resumed process has not called everything again)."""
  path = os.path.join(model_dir, "operative_config.gin")
  text = gin.operative_config_str()
  if os.path.exists(path):
    with open(path) as f:
      if len(f.read()) > len(text):
        return
  outputs.atomic_write_text(path, text)


def _summary_name(key):
  """TensorBoard names allow no '@' (P@3 -> P_at_3)."""
  return key.replace("@", "_at_")


def _check_finite(values, where):
  for key, value in values.items():
    if not np.isfinite(value):
      raise TrainingDivergedError(
          f"{key} became {value} during {where}: lower the learning rates or the loss weights; "
          "the last good checkpoint is kept in model_dir and resumes from there.")


class Runner:
  """Owns the players, optimizers, checkpoint and outputs of one run in `model_dir`."""

  def __init__(self, model_dir, method, splits, builders, strategy, seed, batch_size,
               eval_batch_size, game_epochs, tau_schedule, augment_fn, summary=True,
               init_from=None, log=print, data_fingerprint="", pretrain_cache_dir=None,
               evaluation=None, epoch_probe=None, checkpoint_every_secs=60.0, task=None,
               player_views=None, role=None):
    self.model_dir, self.method, self.splits = model_dir, method, splits
    # Who writes what across workers (kdgan_tf/distribute.py); one worker: model_dir, as ever.
    self.role = role or distribute.WorkerRole(strategy, model_dir)
    self.task = task or tasks.task_for(splits)
    self.views = views_lib.player_views(splits, method.players, player_views)
    self.strategy, self.seed, self.batch_size = strategy, int(seed), int(batch_size)
    self.game_epochs, self.tau_schedule, self.augment_fn = game_epochs, tau_schedule, augment_fn
    self.log, self.init_from = log, init_from
    self.data_fingerprint = data_fingerprint
    self.cache = PretrainCache(pretrain_cache_dir) if pretrain_cache_dir else None
    self.evaluation = evaluation or EvaluationPolicy()  # what the game evaluates, and when
    if epoch_probe is not None:
      probes.check_probe(epoch_probe)
      if splits.multi_label or any(len(v) > 1 for v in self.views.values()):
        raise UserError("run_experiment.epoch_probe works on single-label runs whose players "
                        "read one view (MNIST-style); unset it for this dataset.")
    self.epoch_probe = epoch_probe  # see kdgan_tf/probes.py; must not change the trajectory
    self.checkpoint_every_secs = float(checkpoint_every_secs)
    self._last_checkpoint = time.time()
    self.selected = method.selected_player
    if self.selected not in method.players or self.selected not in _PREFIX:
      raise UserError(f"{method.name}: selected_player {self.selected!r} must be the classifier "
                      f"or the teacher, and one of its players {method.players}.")
    self.prefix = _PREFIX[self.selected]
    self.n = len(splits.train)
    if self.n < self.batch_size:
      raise UserError(f"batch_size = {batch_size} is larger than n = {self.n}: lower "
                      "run_experiment.batch_size or raise n.")
    self.phases = [("pretrain", p) for p in method.players] + [(_GAME, None)]
    self.settings = {p: _settings(p) for p in method.players}
    self.compiled = {}  # name -> tf.function, exposed for trace counting
    self._train_base = pipeline.base_dataset(splits.train)
    train_subset = self.evaluation.train_indices(self.n)
    evaluated = {name: splits.split(name) for name in ("train", "val", "test")}
    if train_subset is not None:
      evaluated["train"] = splits.train.take(train_subset)
    self._eval_sets = {
        name: distribute.distribute_dataset(strategy, pipeline.evaluation_batches(
            pipeline.base_dataset(split), eval_batch_size))
        for name, split in evaluated.items() if len(split)}

    with strategy.scope():
      self.models = {}
      for p in method.players:
        keras.utils.set_random_seed(_player_seed(seed, p))  # initialisation and dropout seeds
        self.models[p] = builders[p](num_classes=splits.num_classes, name=p,
                                     **views_lib.builder_inputs(splits, self.views[p]))
      # tf.data shuffles combine their seeds with the global one: make it the same whichever
      # players were built.
      keras.utils.set_random_seed(self.seed)
      self.pre_opts = {p: keras.optimizers.Adam(self.settings[p]["pretrain_learning_rate"])
                       for p in method.players}
      self.game_opts = {p: keras.optimizers.Adam(self.settings[p]["game_learning_rate"])
                        for p in method.players}
      for p, model in self.models.items():
        self.pre_opts[p].build(model.trainable_variables)
        self.game_opts[p].build(model.trainable_variables)
      # Read inside replica steps, so it is mirrored; changing its value never retraces.
      self.tau = tf.Variable(1.0, trainable=False, dtype=tf.float32, name="tau")
    # Host-side progress: plain variables, outside the strategy (only read between calls).
    self.rng_counter = tf.Variable(0, trainable=False, dtype=tf.int64, name="rng_counter")
    self.phase_index = tf.Variable(0, trainable=False, dtype=tf.int64, name="phase_index")
    self.phase_epoch = tf.Variable(0, trainable=False, dtype=tf.int64, name="phase_epoch")
    # float64: an accuracy k/N must compare equal to itself after a save/restore round trip.
    self.best_val = tf.Variable(-1.0, trainable=False, dtype=tf.float64, name="best_val")
    self.bad_epochs = tf.Variable(0, trainable=False, dtype=tf.int64, name="bad_epochs")
    # Keras keeps its dropout seed states out of its checkpoints; saving them makes a resumed
    # run draw the same dropout masks as an uninterrupted one.
    self.dropout_seeds = {p: [v for v in m.non_trainable_variables
                              if "seed_generator" in v.path]
                          for p, m in self.models.items()}
    self.checkpoint = tf.train.Checkpoint(
        **{f"{p}": m for p, m in self.models.items()},
        **{f"dropout_seeds_{p}": [v.value for v in seeds]
           for p, seeds in self.dropout_seeds.items()},
        **{f"pretrain_optimizer_{p}": o for p, o in self.pre_opts.items()},
        **{f"game_optimizer_{p}": o for p, o in self.game_opts.items()},
        tau=self.tau, rng_counter=self.rng_counter, phase_index=self.phase_index,
        phase_epoch=self.phase_epoch, best_val=self.best_val, bad_epochs=self.bad_epochs)
    self.metrics_path = os.path.join(model_dir, "metrics.json")
    try:
      self.manager = tf.train.CheckpointManager(
          self.checkpoint, os.path.join(self.role.write_dir, "checkpoints"), max_to_keep=2)
      self.record = outputs.read_json(self.metrics_path, default={}) or {}
    except Exception as e:  # unreadable checkpoint index or metrics.json
      raise CheckpointError(
          f"cannot read the state of {model_dir} ({type(e).__name__}: {e}); use a new "
          "--model_dir, or delete the damaged folder to start this run again.") from e
    self.writer = (tf.summary.create_file_writer(os.path.join(model_dir, "tensorboard"))
                   if summary and self.role.chief else tf.summary.create_noop_writer())

  # ----------------------------------------------------------------------------- state
  def restore(self):
    """Restores the latest checkpoint, if any. Returns True when a run was resumed."""
    latest = self.role.latest_checkpoint(self.manager)
    self.role.check_same_checkpoint(latest)
    if not latest:
      return False
    try:
      self.checkpoint.restore(latest).assert_existing_objects_matched()
    except Exception as e:  # corrupt file, or a checkpoint of another configuration
      raise CheckpointError(
          f"cannot restore {latest} ({type(e).__name__}): it is corrupt or was written by a "
          "different configuration; use a new --model_dir, or delete "
          f"{os.path.dirname(latest)} to start this run again.") from e
    self.role.adopt_chief_weights()
    self._trim_record()
    return True

  def _trim_record(self):
    """Drops epochs that metrics.json holds beyond the checkpoint (a kill between the two
    writes); the resumed run recomputes them identically."""
    done, index = int(self.phase_epoch), int(self.phase_index)
    if index >= len(self.phases):
      return
    kind, player = self.phases[index]
    if kind == "pretrain" and player in self.record.get("pretrain", {}):
      info = self.record["pretrain"][player]
      info["curve"] = [c for c in info.get("curve", []) if c["epoch"] <= done]
    elif kind == _GAME and "game" in self.record:
      game = self.record["game"]
      game["epochs"] = [e for e in game.get("epochs", []) if e["epoch"] <= done]
      game.update(self._summarize(game["epochs"]))

  def _save(self, force=False):
    """metrics.json every epoch, then the checkpoint when `checkpoint_every_secs` have passed
    (or `force`, at the end of each phase). A checkpoint of three players and six Adam states
    is ~150 MB at MNIST scale: writing it every epoch cost a quarter of a run at n = 100.
    On resume the checkpoint is the truth: `_trim_record` drops what metrics.json holds beyond
    it, and the epochs since are recomputed identically (stateless seeds, per-epoch streams)."""
    if self.role.chief:
      outputs.write_json(self.metrics_path, self.record)
      _write_operative_config(self.model_dir)
    # Every worker saves (non-chiefs into their own folder) when any worker's clock says so.
    if force or self.role.agree_any(
        time.time() - self._last_checkpoint >= self.checkpoint_every_secs):
      self.manager.save()
      self._last_checkpoint = time.time()

  def _weights_path(self, name):
    folder = os.path.join(self.role.write_dir, "weights")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"{name}.weights.h5")

  # ----------------------------------------------------------------------------- compiled
  def _compile(self, name, step_fn):
    """A tf.function running `num_steps` steps of `step_fn` and returning mean metrics."""
    strategy, counter = self.strategy, self.rng_counter
    base = tf.constant(self.seed, tf.int64)

    def replica_step(features, labels, seed):
      replica = tf.distribute.get_replica_context().replica_id_in_sync_group
      return step_fn(features, labels, tf.random.experimental.stateless_fold_in(seed, replica))

    def one_step(iterator):
      seed = tf.stack([base, counter.read_value()])
      counter.assign_add(1)
      features, labels = next(iterator)
      per_replica = strategy.run(replica_step, args=(features, labels, seed))
      return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
              for k, v in per_replica.items()}

    @tf.function
    def run(iterator, num_steps):
      totals = one_step(iterator)
      for _ in tf.range(num_steps - 1):
        out = one_step(iterator)
        totals = {k: totals[k] + out[k] for k in totals}
      return {k: v / tf.cast(num_steps, v.dtype) for k, v in totals.items()}

    self.compiled[name] = run
    return run

  def _compile_eval(self, player):
    """A tf.function returning `player`'s logits (inference mode) and the labels of a whole
    split, gathered from every replica in matching order."""
    strategy, model = self.strategy, self.models[player]
    select = views_lib.selector(self.views[player])

    @tf.function
    def run(dataset):
      scores = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False)
      labels = tf.TensorArray(self._train_base.element_spec[1].dtype, size=0,
                              dynamic_size=True, infer_shape=False)
      i = 0
      for features, batch_labels in dataset:
        logits = strategy.run(lambda f: model(select(f), training=False), args=(features,))
        scores = scores.write(i, strategy.gather(logits, axis=0))
        labels = labels.write(i, strategy.gather(batch_labels, axis=0))
        i += 1
      return scores.concat(), labels.concat()

    self.compiled[f"eval_{player}"] = run
    return run

  def evaluate(self, player, split):
    """The task's measures of `player` (inference mode) on "train", "val" or "test", e.g.
    {"accuracy": ...} or {"P@3": ..., "MAP": ...}; None for an empty split."""
    if split not in self._eval_sets:
      return None
    fn = self.compiled.get(f"eval_{player}") or self._compile_eval(player)
    scores, labels = fn(self._eval_sets[split])
    return self.task.evaluate(scores.numpy(), labels.numpy())

  def _selection_value(self, measures):
    return None if measures is None else measures[self.task.selection_metric]

  def _measures_record(self, player):
    """{"val_<metric>": ..., "test_<metric>": ...} of `player` now (pretraining summaries)."""
    record = {}
    for split in ("val", "test"):
      measures = self.evaluate(player, split)
      for metric in self.task.metric_names:
        record[f"{split}_{metric}"] = None if measures is None else measures[metric]
    return record

  def _batches(self, batch_size, stream):  # pylint: disable=missing-function-docstring
    ds = pipeline.training_batches(self._train_base, self.n, batch_size, self.seed, stream)
    return iter(distribute.distribute_dataset(self.strategy, ds))

  # ----------------------------------------------------------------------------- phases
  def run(self):
    """Runs (or resumes) every phase, then exports. Returns the metrics record."""
    resumed = self.restore()
    if resumed:
      self.log(f"Resuming {self.model_dir} at phase {int(self.phase_index)} "
               f"epoch {int(self.phase_epoch)}.")
    start = time.time()
    while int(self.phase_index) < len(self.phases):
      kind, player = self.phases[int(self.phase_index)]
      block = _PLAYER_INDEX[player] if kind == "pretrain" else _GAME_INDEX
      if int(self.phase_epoch) == 0:  # a phase's step seeds do not depend on earlier phases
        self.rng_counter.assign(block * _COUNTER_BLOCK)
      if kind == "pretrain":
        self._pretrain(player)
      else:
        self._game()
      self.phase_index.assign_add(1)
      self.phase_epoch.assign(0)
      self.best_val.assign(-1.0)
      self.bad_epochs.assign(0)
      self._save(force=True)
    self.record.setdefault("timing", {})["seconds_this_invocation"] = time.time() - start
    # How often each compiled function was traced in this invocation: 1 means no retracing.
    self.record["trace_counts"] = {name: fn.experimental_get_tracing_count()
                                   for name, fn in self.compiled.items()}
    return self.record

  def _cache_key(self, player, batch_size):
    settings = {k: v for k, v in self.settings[player].items() if k != "game_learning_rate"}
    if settings["pretrain_eval_every"] == 1:  # keys of runs from before it existed stay valid
      del settings["pretrain_eval_every"]
    settings["pretrain_batch_size"] = batch_size
    own = settings.pop("pretrain_augmentation")  # absent from keys of runs from before it
    if own is not None:
      settings["pretrain_augment"] = True
    if settings["pretrain_augment"]:
      fn = self._pretrain_augmentation(player)
      name = getattr(fn, "__name__", repr(fn))
      try:  # the augmentation's own gin bindings, not the whole config (which names the method)
        bindings = sorted(gin.get_bindings(name).items())
      except ValueError:  # not a gin configurable
        bindings = []
      settings["augment"] = [name, bindings]
    # The replica id is folded into every step seed, and numerics differ across versions.
    settings.update(replicas=self.strategy.num_replicas_in_sync, tensorflow=tf.__version__,
                    keras=keras.__version__)
    if (self.task.name, self.task.selection_metric) != ("single_label", "accuracy"):
      # The best pretraining epoch depends on the selection metric (not part of MNIST's keys,
      # which stay as they were).
      settings.update(task=self.task.name, selection_metric=self.task.selection_metric)
    return cache_key(player, self.models[player], self.seed, self.data_fingerprint, settings)

  def _pretrain_augmentation(self, player):
    """The player's own pretraining augmentation, else the run's when pretrain_augment."""
    settings = self.settings[player]
    if settings["pretrain_augmentation"] is not None:
      return settings["pretrain_augmentation"]
    return self.augment_fn if settings["pretrain_augment"] else no_augment

  def _load_pretrained(self, player, source, info, weights, **provenance):
    self.models[player].load_weights(source)
    outputs.save_weights_atomic(self.models[player], weights)
    info.update(**self._measures_record(player), **provenance)
    metric = self.task.selection_metric
    self.log(f"{player}: pretrained weights loaded from {source} (val {metric} "
             f"{info[f'val_{metric}']}, test {info[f'test_{metric}']})")

  def _pretrain(self, player):
    model, opt = self.models[player], self.pre_opts[player]
    settings = self.settings[player]
    batch_size = int(settings["pretrain_batch_size"] or self.batch_size)
    steps = self.n // batch_size
    info = self.record.setdefault("pretrain", {}).setdefault(player, {"curve": []})
    weights = self._weights_path(f"pretrained_{player}")
    fields, key = self._cache_key(player, batch_size)
    info["cache_key"] = key
    if self.init_from:
      source = os.path.join(self.init_from, "weights", f"pretrained_{player}.weights.h5")
      if not os.path.exists(source):
        raise CheckpointError(f"init_from: {source} does not exist; point init_from at the "
                              "model_dir of a run whose pretraining has finished.")
      self._load_pretrained(player, source, info, weights, loaded_from=source)
      return
    hit = self.cache.lookup(player, key) if self.cache and int(self.phase_epoch) == 0 else None
    if self.role.agree_all(hit):  # all workers load it, or all pretrain
      source, entry = hit
      self._load_pretrained(player, source, info, weights, cached_from=os.path.dirname(source),
                            cached_pretraining=entry.get("info", {}))
      return
    epochs, patience = settings["pretrain_epochs"], settings["pretrain_patience"]
    augment = self._pretrain_augmentation(player)
    fn = self._compile(f"pretrain_{player}", supervised_step(
        model, opt, batch_size, views_lib.augmenter(augment), self.task,
        views_lib.selector(self.views[player])))
    first = int(self.phase_epoch)
    bar = progress_bar(range(first, epochs), desc=f"pretrain {player}", unit="epoch",
                    initial=first, total=epochs)
    for epoch in bar:
      if patience and int(self.bad_epochs) >= patience:
        break  # checked first, so a run killed right after the last epoch stops here too
      t0 = time.time()
      stream = (_PLAYER_INDEX[player] + 1) * 100000 + epoch
      out = {k: float(v) for k, v in fn(self._batches(batch_size, stream),
                                        tf.constant(steps)).items()}
      _check_finite(out, f"pretraining of the {player} (epoch {epoch + 1})")
      every = settings["pretrain_eval_every"]
      val = None
      if (epoch + 1) % every == 0 or epoch + 1 == epochs:
        val = self._selection_value(self.evaluate(player, "val"))
        improved = val is not None and val > float(self.best_val)
        if improved or val is None:  # None: no validation split, keep the latest
          self.best_val.assign(val if val is not None else 0.0)
          self.bad_epochs.assign(0)
          outputs.save_weights_atomic(model, weights)
          info["best_epoch"] = epoch + 1
        else:
          self.bad_epochs.assign_add(every)
      val_key = f"val_{self.task.selection_metric}"
      info["curve"].append({"epoch": epoch + 1, "loss": out["loss"], val_key: val,
                            "seconds": time.time() - t0})
      with self.writer.as_default(step=epoch + 1):
        tf.summary.scalar(f"pretrain_{player}/loss", out["loss"])
        if val is not None:
          tf.summary.scalar(f"pretrain_{player}/{_summary_name(val_key)}", val)
      if hasattr(bar, "set_postfix"):
        bar.set_postfix(loss=f"{out['loss']:.3f}", val=f"{val:.4f}" if val else "-")
      self.phase_epoch.assign(epoch + 1)
      self._save()
    if os.path.exists(weights):
      model.load_weights(weights)
    info.update(epochs_run=len(info["curve"]), **self._measures_record(player),
                seconds=sum(c["seconds"] for c in info["curve"]))
    metric = self.task.selection_metric
    self.log(f"pretrained {player}: best val {metric} {info[f'val_{metric}']} at epoch "
             f"{info.get('best_epoch')} of {info['epochs_run']}, test {info[f'test_{metric}']}, "
             f"{info['seconds']:.1f} s")
    if self.cache and self.role.chief and os.path.exists(weights):
      summary = {k: v for k, v in info.items() if k != "curve"}
      info["published_to"] = self.cache.publish(player, key, fields, weights,
                                                dict(summary, model_dir=self.model_dir))

  def _evaluate_players(self, epoch=None):
    """The task's measures of C and T on the training images (no augmentation; a fixed subset
    under `EvaluationPolicy.train_subset`), validation and test.

    After pretraining (epoch None) every player on every split. In the game, as
    `self.evaluation` says: the selected player at every evaluated epoch, other trained players
    every `partner_every` epochs and at the last one (a LeNet pass over 15k images costs as much
    as a KDGAN training pass at n = 100), frozen players never again; the test split at every
    evaluated epoch or only where the selected player's validation measure improves. A split
    not evaluated is None in the record.
    """
    policy, last = self.evaluation, self.game_epochs
    players = [p for p in _PREFIX if p in self.models and (
        epoch is None or p == self.selected or (
            p in self.method.trained_players and policy.evaluates_partner(epoch, last)))]
    measures = {(p, "val"): self.evaluate(p, "val") for p in players}
    val = self._selection_value(measures[(self.selected, "val")])
    with_test = policy.evaluates_test(epoch, last, val, float(self.best_val))
    record = {}
    for player in players:
      for split in ("train", "val", "test"):
        if split == "test" and not with_test:
          result = None
        else:
          result = measures.get((player, split)) or self.evaluate(player, split)
        for metric in self.task.metric_names:
          value = None if result is None else result[metric]
          record[f"{_PREFIX[player]}_{split}_{metric}"] = value
    return record

  def _reset_dropout_seeds(self):
    """Game dropout masks from (seed, player), whether the player was pretrained in this run or
    loaded from the cache (whose dropout state after pretraining is not stored)."""
    for player, variables in self.dropout_seeds.items():
      for i, var in enumerate(variables):
        var.assign(tf.constant([_player_seed(self.seed, player, salt=1 + i), 0], var.dtype))

  def _game(self):
    game = self.record.setdefault("game", {"epochs": []})
    if "pretrained" not in game:
      game["pretrained"] = dict(epoch=0, **self._evaluate_players())
    if int(self.phase_epoch) == 0:
      self._reset_dropout_seeds()
    ctx = StepContext(self.models, self.game_opts, self.tau, self.task, self.batch_size,
                      self.augment_fn, self.views)
    phases = self.method.phases(ctx)
    compiled = [(ph, self._compile(f"game_{ph.name}", ph.step_fn)) for ph in phases]
    steps = self.n // self.batch_size
    first = int(self.phase_epoch)
    bar = progress_bar(range(first, self.game_epochs), desc=f"{self.method.name} game",
                    unit="epoch", initial=first, total=self.game_epochs)
    log = getattr(bar, "write", self.log) if self.log is print else self.log
    for epoch in bar:
      t0 = time.time()
      self.tau.assign(self.tau_schedule(epoch))
      entry = {"epoch": epoch + 1, "tau": float(self.tau.numpy())}
      for i, (phase, fn) in enumerate(compiled):
        if phase.passes <= 0:
          continue
        it = self._batches(self.batch_size, 10_000_000 + i * 100000 + epoch)
        entry.update({k: float(v) for k, v in fn(it, tf.constant(phase.passes * steps)).items()})
      _check_finite(entry, f"game epoch {epoch + 1}")
      entry["train_seconds"] = time.time() - t0
      if self.epoch_probe is not None:
        entry.update(self.epoch_probe(
            self.models, tf.constant(views_lib.selector(self.views["classifier"])(
                self.splits.train.views)), self.tau, self.seed, epoch + 1,
            labels=tf.constant(self.splits.train.labels)))
      if self.evaluation.evaluates(epoch + 1, self.game_epochs):
        entry.update(self._evaluate_players(epoch + 1))
      entry["seconds"] = time.time() - t0
      game["epochs"].append(entry)
      val = entry.get(f"{self.prefix}_val_{self.task.selection_metric}")
      if val is not None and val > float(self.best_val):
        self.best_val.assign(val)
        outputs.save_weights_atomic(self.models[self.selected],
                                    self._weights_path(f"best_{self.selected}"))
      game.update(self._summarize(game["epochs"]))
      with self.writer.as_default(step=epoch + 1):
        for key, value in entry.items():
          if key != "epoch" and value is not None:
            tf.summary.scalar(f"game/{_summary_name(key)}", value)
      log(self._epoch_line(entry))
      self.phase_epoch.assign(epoch + 1)
      self._save()
    best = self._weights_path(f"best_{self.selected}")
    if os.path.exists(best):
      self.models[self.selected].load_weights(best)

  def _summarize(self, epochs):
    return run_metrics.summarize_game(epochs, self.prefix, self.task.selection_metric,
                                      self.task.metric_names)

  def _epoch_line(self, e):
    metric = self.task.selection_metric

    def fmt(key):
      v = e.get(key)
      return "-" if v is None else f"{v:.4f}"
    losses = " ".join(f"{k}={e[k]:.4f}" for k in e if k.endswith(
        ("loss", "_adversarial", "_distill", "_floor", "_mass")))  # D's floor and w too
    accuracies = "".join(
        f"{prefix.upper()} val {metric} {fmt(f'{prefix}_val_{metric}')} test "
        f"{fmt(f'{prefix}_test_{metric}')} | "
        for player, prefix in _PREFIX.items() if player in self.method.trained_players)
    return (f"epoch {e['epoch']:3d}/{self.game_epochs} tau={e['tau']:.3f} {losses} | "
            f"{accuracies}{e['seconds']:.1f}s")
