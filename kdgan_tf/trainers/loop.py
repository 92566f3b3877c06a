"""The one training loop every method shares: pretrain each player -> game epochs.

Design (docs/architecture.md):
  * Every per-step computation runs inside a `tf.function` that executes MANY steps per call
    (kdgan_tf/trainers/compiled.py), so Python runs once per pass, not per step.
  * Under any `tf.distribute` strategy: models/optimizers live in `strategy.scope()`, batches come
    from `experimental_distribute_dataset`, losses are averaged over the global batch and metrics
    are reduced explicitly with `strategy.reduce(SUM)`.
  * Randomness is stateless: each step's seed is (seed, counter), the counter is a checkpointed
    variable, and the replica id is folded in. Batch order is a function of (seed, phase, epoch).
    So a killed run resumes where it stopped and reproduces the uninterrupted run's sampling.
  * State lives in one `tf.train.Checkpoint` (run_state.py); pretraining is pretraining.py,
    evaluation evaluation.py; this module builds the players and runs the phases in order.
"""
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kdgan_tf import distribute
from kdgan_tf import metrics as run_metrics
from kdgan_tf import probes
from kdgan_tf import tasks
from kdgan_tf import outputs
from kdgan_tf.data import augment
from kdgan_tf.data import pipeline
from kdgan_tf.data import views as views_lib
from kdgan_tf.errors import TrainingDivergedError, UserError
from kdgan_tf.progress import progress_bar
from kdgan_tf.trainers.base import PLAYERS, StepContext
from kdgan_tf.trainers.compiled import multi_step_function
from kdgan_tf.trainers import frozen_logits as frozen_logits_lib
from kdgan_tf.trainers.evaluation import PREFIX, EvaluationPolicy, PlayerEvaluator
from kdgan_tf.trainers.pretrain_cache import PretrainCache
from kdgan_tf.trainers.pretraining import pretrain_player, settings_of
from kdgan_tf.trainers.run_state import GAME, RunState, player_seed


# Every player's pretraining and the game draw from their own random streams (initialisation,
# dropout, batch order, step seeds), so a pretrained player depends only on (data, seed,
# player, settings) -- never on which other players the method has -- and can be cached.
_PLAYER_INDEX = {p: i for i, p in enumerate(PLAYERS)}
_COUNTER_BLOCK = 1 << 40  # step-seed counter range of one phase
_GAME_INDEX = len(PLAYERS)


def _check_finite(values, where):
  for key, value in values.items():
    if not np.isfinite(value):
      raise TrainingDivergedError(
          f"{key} became {value} during {where}: lower the learning rates or the loss weights; "
          "the last good checkpoint is kept in model_dir and resumes from there.")


class Runner:
  """One run in `model_dir`: builds the players and optimizers, then runs (or resumes) each
  player's pretraining and the method's game. The parts: `state` (run_state.RunState:
  checkpoint, metrics.json, weight files), `evaluator` (evaluation.PlayerEvaluator) and
  pretraining.pretrain_player."""

  def __init__(self, model_dir, method, splits, builders, strategy, seed, batch_size,
               eval_batch_size, game_epochs, tau_schedule, augment_fn, summary=True,
               init_from=None, log=print, data_fingerprint="", pretrain_cache_dir=None,
               evaluation=None, epoch_probe=None, checkpoint_every_secs=60.0, task=None,
               player_views=None, role=None, frozen_logits=True):
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
    self.selected = method.selected_player
    if self.selected not in method.players or self.selected not in PREFIX:
      raise UserError(f"{method.name}: selected_player {self.selected!r} must be the classifier "
                      f"or the teacher, and one of its players {method.players}.")
    self.prefix = PREFIX[self.selected]
    self.n = len(splits.train)
    if self.n < self.batch_size:
      raise UserError(f"batch_size = {batch_size} is larger than n = {self.n}: lower "
                      "run_experiment.batch_size or raise n.")
    self.phases = [("pretrain", p) for p in method.players] + [(GAME, None)]
    self.settings = {p: settings_of(p) for p in method.players}
    self.compiled = {}  # name -> tf.function, exposed for trace counting
    # Frozen players' logits tabled once per phase where the game's augmentation has few forms
    # (frozen_logits.py); the training batches then carry each example's index.
    variants = augment.finite_variants(augment_fn) if frozen_logits else None
    self._train_base = pipeline.base_dataset(
        splits.train, index_key=frozen_logits_lib.INDEX_KEY if variants else None)

    with strategy.scope():
      self.models = {}
      for p in method.players:
        # initialisation and dropout seeds
        keras.utils.set_random_seed(player_seed(seed, _PLAYER_INDEX[p]))
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
    self.evaluator = PlayerEvaluator(strategy, splits, self.models, self.views, self.task,
                                     self.evaluation, eval_batch_size, self.compiled)
    self.frozen_logits = (frozen_logits_lib.FrozenLogits(
        strategy, splits.train, self.models, self.views, splits.num_classes, variants,
        eval_batch_size) if variants else None)
    self.state = RunState(model_dir, self.role, self.models, self.pre_opts, self.game_opts,
                          strategy, checkpoint_every_secs)
    self.tau, self.record = self.state.tau, self.state.record
    self.writer = (tf.summary.create_file_writer(os.path.join(model_dir, "tensorboard"))
                   if summary and self.role.chief else tf.summary.create_noop_writer())

  # ----------------------------------------------------------------------------- helpers
  check_finite = staticmethod(_check_finite)

  @staticmethod
  def summary_name(key):
    """TensorBoard names allow no '@' (P@3 -> P_at_3)."""
    return key.replace("@", "_at_")

  def compile(self, name, step_fn):
    """A tf.function running `num_steps` steps of `step_fn` and returning mean metrics
    (registered in `compiled` under `name`)."""
    run = multi_step_function(self.strategy, self.seed, self.state.rng_counter, step_fn)
    self.compiled[name] = run
    return run

  def evaluate(self, player, split):
    """The task's measures of `player` (inference mode) on "train", "val" or "test"."""
    return self.evaluator.evaluate(player, split)

  def batches(self, batch_size, stream):
    """A distributed iterator over one epoch of training batches from random stream `stream`."""
    ds = pipeline.training_batches(self._train_base, self.n, batch_size, self.seed, stream)
    return iter(distribute.distribute_dataset(self.strategy, ds))

  # ----------------------------------------------------------------------------- phases
  def run(self):
    """Runs (or resumes) every phase. Returns the metrics record."""
    state = self.state
    resumed = state.restore(self.phases, self._summarize)
    if resumed:
      self.log(f"Resuming {self.model_dir} at phase {int(state.phase_index)} "
               f"epoch {int(state.phase_epoch)}.")
    start = time.time()
    while int(state.phase_index) < len(self.phases):
      kind, player = self.phases[int(state.phase_index)]
      block = _PLAYER_INDEX[player] if kind == "pretrain" else _GAME_INDEX
      if int(state.phase_epoch) == 0:  # a phase's step seeds do not depend on earlier phases
        state.rng_counter.assign(block * _COUNTER_BLOCK)
      if kind == "pretrain":
        pretrain_player(self, player, stream_base=(_PLAYER_INDEX[player] + 1) * 100000)
      else:
        self._game()
      state.end_phase()
    self.record.setdefault("timing", {})["seconds_this_invocation"] = time.time() - start
    # How often each compiled function was traced in this invocation: 1 means no retracing.
    self.record["trace_counts"] = {name: fn.experimental_get_tracing_count()
                                   for name, fn in self.compiled.items()}
    return self.record

  def _evaluate_players(self, epoch=None):
    return self.evaluator.players_record(self.selected, self.method.trained_players,
                                         float(self.state.best_val), self.game_epochs, epoch)

  def _game(self):
    game = self.record.setdefault("game", {"epochs": []})
    if "pretrained" not in game:
      game["pretrained"] = dict(epoch=0, **self._evaluate_players())
    if int(self.state.phase_epoch) == 0:
      self.state.reset_dropout_seeds(self.seed, _PLAYER_INDEX)
    ctx = StepContext(self.models, self.game_opts, self.tau, self.task, self.batch_size,
                      self.augment_fn, self.views, self.frozen_logits)
    compiled = self.game_functions(ctx)
    # which players each phase reads from tables (frozen_logits.py) rather than per step
    self.record["tabled_logits"] = {ph.name: sorted(t) for ph, t, _ in compiled}
    steps = self.n // self.batch_size
    first = int(self.state.phase_epoch)
    bar = progress_bar(range(first, self.game_epochs), desc=f"{self.method.name} game",
                    unit="epoch", initial=first, total=self.game_epochs)
    log = getattr(bar, "write", self.log) if self.log is print else self.log
    for epoch in bar:
      t0 = time.time()
      self.tau.assign(self.tau_schedule(epoch))
      entry = {"epoch": epoch + 1, "tau": float(self.tau.numpy())}
      entry.update(self.train_game_epoch(compiled, epoch, steps))
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
      if val is not None and val > float(self.state.best_val):
        self.state.best_val.assign(val)
        outputs.save_weights_atomic(self.models[self.selected],
                                    self.state.weights_path(f"best_{self.selected}"))
      game.update(self._summarize(game["epochs"]))
      with self.writer.as_default(step=epoch + 1):
        for key, value in entry.items():
          if key != "epoch" and value is not None:
            tf.summary.scalar(f"game/{self.summary_name(key)}", value)
      log(self._epoch_line(entry))
      self.state.phase_epoch.assign(epoch + 1)
      self.state.save()
    best = self.state.weights_path(f"best_{self.selected}")
    if os.path.exists(best):
      self.models[self.selected].load_weights(best)

  def game_functions(self, ctx, wrap=lambda f: f):
    """[(GamePhase, players read from tables, compiled multi-step function)] of the method's
    game in phase order (frozen_logits.table_plan says which players are tabled where)."""
    phases = self.method.phases(ctx)
    frozen = self.frozen_logits
    plan = (frozen_logits_lib.table_plan(phases, frozen.tables, frozen.variants.count)
            if frozen is not None else [set() for _ in phases])
    return [(ph, tabled, self.compile(f"game_{ph.name}", wrap(ctx.phase_step(ph, tabled))))
            for ph, tabled in zip(phases, plan)]

  def train_game_epoch(self, compiled, epoch, steps):
    """One game epoch's training: each phase's passes, the tables it reads refreshed first
    where stale. Returns the phases' mean metrics."""
    frozen, metrics = self.frozen_logits, {}
    for i, (phase, tabled, fn) in enumerate(compiled):
      if phase.passes <= 0:
        continue
      updates = frozen_logits_lib.phase_updates(phase)
      if frozen is not None:
        frozen.refresh(tabled)
      it = self.batches(self.batch_size, 10_000_000 + i * 100000 + epoch)
      metrics.update({k: float(v) for k, v in fn(it, tf.constant(phase.passes * steps)).items()})
      if frozen is not None:
        frozen.updated(updates)
    return metrics

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
        for player, prefix in PREFIX.items() if player in self.method.trained_players)
    return (f"epoch {e['epoch']:3d}/{self.game_epochs} tau={e['tau']:.3f} {losses} | "
            f"{accuracies}{e['seconds']:.1f}s")
