"""Everything a killed run needs to resume: one `tf.train.Checkpoint`, metrics.json beside it,
and the weight files of finished phases.

Why one checkpoint: players, optimizers, τ, the phase, its epoch, the step-seed counter and
Keras' dropout seed states are saved together, so a resumed run continues the uninterrupted
one exactly (stateless seeds, per-epoch batch streams). metrics.json is written every epoch and
may run ahead of the checkpoint; on resume the checkpoint is the truth (`RunState.restore`
trims the record to it).
"""
import os
import time

import gin
import tensorflow as tf

from kdgan_tf import outputs
from kdgan_tf.errors import CheckpointError

GAME = "game"  # the phase after the players' pretraining phases


def player_seed(seed, player_index, salt=0):
  """A 31-bit seed for Keras' global RNG, distinct per (seed, player, salt)."""
  return (int(seed) * 1_000_003 + 7_919 * (player_index + 1) + 104_729 * salt) % (2**31)


def write_operative_config(model_dir):
  """gin records only what has been called, so the file is refreshed as the run proceeds; it is
  never replaced by a shorter one (a resumed process has not called everything again)."""
  path = os.path.join(model_dir, "operative_config.gin")
  text = gin.operative_config_str()
  if os.path.exists(path):
    with open(path) as f:
      if len(f.read()) > len(text):
        return
  outputs.atomic_write_text(path, text)


class RunState:
  """The checkpointed variables of a run and the files that hold them.

  Attributes: tau (mirrored: read inside replica steps), rng_counter, phase_index, phase_epoch,
  best_val, bad_epochs (host-side progress), record (metrics.json's content).
  """

  def __init__(self, model_dir, role, models, pre_opts, game_opts, strategy,
               checkpoint_every_secs):
    self.model_dir, self.role, self.models = model_dir, role, models
    self.checkpoint_every_secs = float(checkpoint_every_secs)
    self._last_checkpoint = time.time()
    with strategy.scope():
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
                          for p, m in models.items()}
    self.checkpoint = tf.train.Checkpoint(
        **{f"{p}": m for p, m in models.items()},
        **{f"dropout_seeds_{p}": [v.value for v in seeds]
           for p, seeds in self.dropout_seeds.items()},
        **{f"pretrain_optimizer_{p}": o for p, o in pre_opts.items()},
        **{f"game_optimizer_{p}": o for p, o in game_opts.items()},
        tau=self.tau, rng_counter=self.rng_counter, phase_index=self.phase_index,
        phase_epoch=self.phase_epoch, best_val=self.best_val, bad_epochs=self.bad_epochs)
    self.metrics_path = os.path.join(model_dir, "metrics.json")
    try:
      self.manager = tf.train.CheckpointManager(
          self.checkpoint, os.path.join(role.write_dir, "checkpoints"), max_to_keep=2)
      self.record = outputs.read_json(self.metrics_path, default={}) or {}
    except Exception as e:  # unreadable checkpoint index or metrics.json
      raise CheckpointError(
          f"cannot read the state of {model_dir} ({type(e).__name__}: {e}); use a new "
          "--model_dir, or delete the damaged folder to start this run again.") from e

  def restore(self, phases, summarize_game):
    """Restores the latest checkpoint, if any. Returns True when a run was resumed.

    Args:
      phases: the run's [(kind, player)] phases (to know which one the checkpoint is in).
      summarize_game: game epochs -> the game's summary fields (recomputed after trimming).
    """
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
    self._trim_record(phases, summarize_game)
    return True

  def _trim_record(self, phases, summarize_game):
    """Drops epochs that metrics.json holds beyond the checkpoint (a kill between the two
    writes); the resumed run recomputes them identically."""
    done, index = int(self.phase_epoch), int(self.phase_index)
    if index >= len(phases):
      return
    kind, player = phases[index]
    if kind == "pretrain" and player in self.record.get("pretrain", {}):
      info = self.record["pretrain"][player]
      info["curve"] = [c for c in info.get("curve", []) if c["epoch"] <= done]
    elif kind == GAME and "game" in self.record:
      game = self.record["game"]
      game["epochs"] = [e for e in game.get("epochs", []) if e["epoch"] <= done]
      game.update(summarize_game(game["epochs"]))

  def save(self, force=False):
    """metrics.json every epoch, then the checkpoint when `checkpoint_every_secs` have passed
    (or `force`, at the end of each phase). A checkpoint of three players and six Adam states
    is ~150 MB at MNIST scale: writing it every epoch cost a quarter of a run at n = 100."""
    if self.role.chief:
      outputs.write_json(self.metrics_path, self.record)
      write_operative_config(self.model_dir)
    # Every worker saves (non-chiefs into their own folder) when any worker's clock says so.
    if force or self.role.agree_any(
        time.time() - self._last_checkpoint >= self.checkpoint_every_secs):
      self.manager.save()
      self._last_checkpoint = time.time()

  def end_phase(self):
    """Moves to the next phase (epoch 0, no best validation yet) and checkpoints."""
    self.phase_index.assign_add(1)
    self.phase_epoch.assign(0)
    self.best_val.assign(-1.0)
    self.bad_epochs.assign(0)
    self.save(force=True)

  def weights_path(self, name):
    """Where a finished phase's weights (`pretrained_<player>`, `best_<player>`) go."""
    folder = os.path.join(self.role.write_dir, "weights")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"{name}.weights.h5")

  def reset_dropout_seeds(self, seed, player_index):
    """Game dropout masks from (seed, player), whether the player was pretrained in this run or
    loaded from the cache (whose dropout state after pretraining is not stored)."""
    for player, variables in self.dropout_seeds.items():
      for i, var in enumerate(variables):
        var.assign(tf.constant([player_seed(seed, player_index[player], salt=1 + i), 0],
                               var.dtype))
