"""Phase 1 of every run (Algorithm 1, line 1): each player trained alone on the n labels, its
best-validation weights kept, and shared through the pretraining cache.

Why separate from the game: a pretrained player depends only on (data, seed, player,
settings) -- never on which other players the method has, since every player draws from its
own random streams -- so it is cached once per seed and reused by every method of a grid.
"""
import os
import time

import gin
import keras
import numpy as np
import tensorflow as tf

from kdgan_tf import outputs
from kdgan_tf.data import views as views_lib
from kdgan_tf.data.augment import no_augment
from kdgan_tf.errors import CheckpointError
from kdgan_tf.errors import UserError
from kdgan_tf.progress import progress_bar
from kdgan_tf.trainers.pretrain_cache import cache_key
from kdgan_tf.trainers.supervised_steps import supervised_step


@gin.configurable
def player_settings(pretrain_epochs=200, pretrain_learning_rate=1e-3, pretrain_batch_size=None,
                    pretrain_patience=None, pretrain_augment=False, game_learning_rate=5e-4,
                    pretrain_eval_every=1, pretrain_augmentation=None,
                    pretrain_plateau_learning_rates=(), pretrain_plateau_augmentation=None):
  """Per-player settings; bind them with a gin scope, e.g. `teacher/player_settings.*`.

  Args:
    pretrain_epochs: epochs of ordinary supervised pretraining (0 skips it).
    pretrain_learning_rate: Adam learning rate while pretraining.
    pretrain_batch_size: batch size while pretraining (None: the experiment's batch size).
    pretrain_patience: stop pretraining (or move to the next plateau learning rate) after
      this many epochs without a better validation accuracy (None: never). The
      best-validation weights are kept either way.
    pretrain_augment: apply the experiment's augmentation while pretraining too (the authors
      pretrained without it; the strong recipe of reference-accuracies.md uses it).
    game_learning_rate: Adam learning rate of the player during the game.
    pretrain_eval_every: evaluate on the validation split every this many epochs (and at the
      last); patience counts the epochs in between. At CIFAR-10's n = 500 an epoch is 8 steps
      while a validation pass over 5,000 images costs ten times that.
    pretrain_augmentation: this player's own pretraining augmentation, e.g. `@pad_crop_flip`
      for a teacher that overfits under the run's (None: the run's `augmentation`, if
      `pretrain_augment`). Setting it implies augmented pretraining; the game keeps the run's.
    pretrain_plateau_learning_rates: learning rates to go on at, in order, each time
      validation has not improved for `pretrain_patience` epochs, from the best weights so
      far (empty: stop at the first plateau). Adam's moments carry over. Why: a player that
      some methods freeze (the teacher of MIMIC, DISTN, NOISY) must not be left short of what
      more epochs at a lower rate give it, while methods that train it in the game get them.
      `pretrain_epochs` counts the epochs of every stage together. The rates must differ from
      each other and from `pretrain_learning_rate` (a resumed run finds its stage by its
      optimizer's checkpointed rate).
    pretrain_plateau_augmentation: the augmentation of the stages after the first (None: the
      first stage's), e.g. the game's `@mirror` for a teacher pretrained on `@pad_crop_flip`:
      then the later stages are SUPERVISED-T's game (its rate, its augmentation) stopped and
      selected by validation.
  """
  plateau_rates = tuple(float(r) for r in pretrain_plateau_learning_rates or ())
  if plateau_rates and not pretrain_patience:
    raise UserError("player_settings.pretrain_plateau_learning_rates needs "
                    "pretrain_patience (the plateau that moves to the next rate); set both.")
  if pretrain_plateau_augmentation is not None and not plateau_rates:
    raise UserError("player_settings.pretrain_plateau_augmentation needs "
                    "pretrain_plateau_learning_rates (the stages it applies to); set both.")
  every_rate = [float(np.float32(r)) for r in (pretrain_learning_rate,) + plateau_rates]
  if len(set(every_rate)) < len(every_rate):
    raise UserError("player_settings.pretrain_plateau_learning_rates must differ from each "
                    f"other and from pretrain_learning_rate; got {every_rate}.")
  return dict(pretrain_epochs=int(pretrain_epochs),
              pretrain_learning_rate=float(pretrain_learning_rate),
              pretrain_batch_size=pretrain_batch_size, pretrain_patience=pretrain_patience,
              pretrain_augment=bool(pretrain_augment),
              game_learning_rate=float(game_learning_rate),
              pretrain_eval_every=max(1, int(pretrain_eval_every)),
              pretrain_augmentation=pretrain_augmentation,
              pretrain_plateau_learning_rates=plateau_rates,
              pretrain_plateau_augmentation=pretrain_plateau_augmentation)


def settings_of(player):
  """`player_settings()` under the player's gin scope."""
  with gin.config_scope(player):
    return player_settings()


def pretrain_augmentation(settings, run_augmentation):
  """The player's own pretraining augmentation, else the run's when pretrain_augment."""
  if settings["pretrain_augmentation"] is not None:
    return settings["pretrain_augmentation"]
  return run_augmentation if settings["pretrain_augment"] else no_augment


def _augmentation_key(fn):
  """[name, its own gin bindings] (not the whole config, which names the method)."""
  name = getattr(fn, "__name__", repr(fn))
  try:
    bindings = sorted(gin.get_bindings(name).items())
  except ValueError:  # not a gin configurable
    bindings = []
  return [name, bindings]


def pretrain_cache_key(runner, player, batch_size):
  """(fields, key) of `player`'s pretraining in `runner`: everything its weights depend on."""
  settings = {k: v for k, v in runner.settings[player].items() if k != "game_learning_rate"}
  # Keys of runs from before these settings existed stay valid.
  if settings["pretrain_eval_every"] == 1:
    del settings["pretrain_eval_every"]
  if not settings["pretrain_plateau_learning_rates"]:
    del settings["pretrain_plateau_learning_rates"]
  else:
    settings["pretrain_plateau_learning_rates"] = list(
        settings["pretrain_plateau_learning_rates"])
  settings["pretrain_batch_size"] = batch_size
  own = settings.pop("pretrain_augmentation")  # absent from keys of runs from before it
  if own is not None:
    settings["pretrain_augment"] = True
  if settings["pretrain_augment"]:
    settings["augment"] = _augmentation_key(
        pretrain_augmentation(runner.settings[player], runner.augment_fn))
  plateau_augmentation = settings.pop("pretrain_plateau_augmentation")
  if plateau_augmentation is not None:
    settings["plateau_augment"] = _augmentation_key(plateau_augmentation)
  # The replica id is folded into every step seed, and numerics differ across versions.
  settings.update(replicas=runner.strategy.num_replicas_in_sync, tensorflow=tf.__version__,
                  keras=keras.__version__)
  task = runner.task
  if (task.name, task.selection_metric) != ("single_label", "accuracy"):
    # The best pretraining epoch depends on the selection metric (not part of MNIST's keys,
    # which stay as they were).
    settings.update(task=task.name, selection_metric=task.selection_metric)
  return cache_key(player, runner.models[player], runner.seed, runner.data_fingerprint, settings)


def _load_pretrained(runner, player, source, info, weights, **provenance):
  runner.models[player].load_weights(source)
  outputs.save_weights_atomic(runner.models[player], weights)
  info.update(**runner.evaluator.measures_record(player), **provenance)
  metric = runner.task.selection_metric
  runner.log(f"{player}: pretrained weights loaded from {source} (val {metric} "
             f"{info[f'val_{metric}']}, test {info[f'test_{metric}']})")


def _stage_of(optimizer, rates, player):
  """The stage a (resumed) pretraining is in, from its optimizer's learning rate: that is
  checkpointed with the weights, while metrics.json and the best-weights file can run ahead of
  the checkpoint (and hold a killed attempt's epochs when there is no checkpoint yet)."""
  current = float(tf.convert_to_tensor(optimizer.learning_rate).numpy())  # also if mirrored
  for stage, rate in enumerate(rates):
    if float(np.float32(rate)) == current:
      return stage
  raise CheckpointError(f"the {player}'s pretraining optimizer is at learning rate {current:g}, "
                        f"none of {list(rates)}: its checkpoint was written with other "
                        "settings; use a new --model_dir.")


def pretrain_player(runner, player, stream_base):
  """Runs (or resumes, or loads from `init_from` or the cache) `player`'s pretraining in
  `runner` (a `loop.Runner`); its batch streams are stream_base + epoch."""
  state, model, opt = runner.state, runner.models[player], runner.pre_opts[player]
  settings = runner.settings[player]
  batch_size = int(settings["pretrain_batch_size"] or runner.batch_size)
  steps = runner.n // batch_size
  info = state.record.setdefault("pretrain", {}).setdefault(player, {"curve": []})
  weights = state.weights_path(f"pretrained_{player}")
  fields, key = pretrain_cache_key(runner, player, batch_size)
  info["cache_key"] = key
  if runner.init_from:
    source = os.path.join(runner.init_from, "weights", f"pretrained_{player}.weights.h5")
    if not os.path.exists(source):
      raise CheckpointError(f"init_from: {source} does not exist; point init_from at the "
                            "model_dir of a run whose pretraining has finished.")
    _load_pretrained(runner, player, source, info, weights, loaded_from=source)
    return
  cache = runner.cache
  hit = cache.lookup(player, key) if cache and int(state.phase_epoch) == 0 else None
  if runner.role.agree_all(hit):  # all workers load it, or all pretrain
    source, entry = hit
    _load_pretrained(runner, player, source, info, weights, cached_from=os.path.dirname(source),
                     cached_pretraining=entry.get("info", {}))
    return
  epochs, patience = settings["pretrain_epochs"], settings["pretrain_patience"]
  steps_of = {}

  def step_of(stage):
    """The compiled epoch of a stage: later stages differ only by their augmentation."""
    later = settings["pretrain_plateau_augmentation"] is not None and stage > 0
    if later not in steps_of:
      augment = (settings["pretrain_plateau_augmentation"] if later
                 else pretrain_augmentation(settings, runner.augment_fn))
      steps_of[later] = runner.compile(
          f"pretrain_{player}" + ("_plateau" if later else ""), supervised_step(
              model, opt, batch_size, views_lib.augmenter(augment), runner.task,
              views_lib.selector(runner.views[player])))
    return steps_of[later]

  rates = (settings["pretrain_learning_rate"],) + settings["pretrain_plateau_learning_rates"]
  stage = _stage_of(opt, rates, player)
  opt.learning_rate = rates[stage]
  info["ended_by"] = "epoch budget"
  first = int(state.phase_epoch)
  bar = progress_bar(range(first, epochs), desc=f"pretrain {player}", unit="epoch",
                     initial=first, total=epochs)
  val_key = f"val_{runner.task.selection_metric}"
  for epoch in bar:
    if patience and int(state.bad_epochs) >= patience:
      # Checked first, so a run killed right after the last epoch stops here too.
      if stage + 1 == len(rates):
        info["ended_by"] = "plateau"
        break
      stage += 1
      state.bad_epochs.assign(0)
      if os.path.exists(weights):
        model.load_weights(weights)
      opt.learning_rate = rates[stage]
      # Checkpointed now: a best-weights file written later in this stage must not be
      # what a resumed run reloads when it replays this move.
      state.save(force=True)
      runner.log(f"{player}: validation flat for {patience} epochs; on from the best weights "
                 f"(epoch {info.get('best_epoch')}) at learning rate {rates[stage]:g}")
    t0 = time.time()
    out = {k: float(v) for k, v in step_of(stage)(
        runner.batches(batch_size, stream_base + epoch), tf.constant(steps)).items()}
    runner.check_finite(out, f"pretraining of the {player} (epoch {epoch + 1})")
    every = settings["pretrain_eval_every"]
    val = None
    if (epoch + 1) % every == 0 or epoch + 1 == epochs:
      val = runner.evaluator.selection_value(runner.evaluator.evaluate(player, "val"))
      improved = val is not None and val > float(state.best_val)
      if improved or val is None:  # None: no validation split, keep the latest
        state.best_val.assign(val if val is not None else 0.0)
        state.bad_epochs.assign(0)
        outputs.save_weights_atomic(model, weights)
        info["best_epoch"] = epoch + 1
      else:
        state.bad_epochs.assign_add(every)
    point = {"epoch": epoch + 1, "loss": out["loss"], val_key: val, "seconds": time.time() - t0}
    if len(rates) > 1:
      point.update(stage=stage, learning_rate=rates[stage])
    info["curve"].append(point)
    with runner.writer.as_default(step=epoch + 1):
      tf.summary.scalar(f"pretrain_{player}/loss", out["loss"])
      if val is not None:
        tf.summary.scalar(f"pretrain_{player}/{runner.summary_name(val_key)}", val)
    if hasattr(bar, "set_postfix"):
      bar.set_postfix(loss=f"{out['loss']:.3f}", val=f"{val:.4f}" if val else "-")
    state.phase_epoch.assign(epoch + 1)
    state.save()
  if os.path.exists(weights):
    model.load_weights(weights)
  info.update(epochs_run=len(info["curve"]), **runner.evaluator.measures_record(player),
              seconds=sum(c["seconds"] for c in info["curve"]))
  metric = runner.task.selection_metric
  runner.log(f"pretrained {player}: best val {metric} {info[f'val_{metric}']} at epoch "
             f"{info.get('best_epoch')} of {info['epochs_run']}, test {info[f'test_{metric}']}, "
             f"{info['seconds']:.1f} s")
  if cache and runner.role.chief and os.path.exists(weights):
    summary = {k: v for k, v in info.items() if k != "curve"}
    info["published_to"] = cache.publish(player, key, fields, weights,
                                          dict(summary, model_dir=runner.model_dir))
