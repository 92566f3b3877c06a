"""Pretraining's plateau stages: on at the next learning rate from the best weights, resumable,
keyed apart in the cache."""
import gin
import pytest

from conftest import TINY_GIN
from kdgan_tf import experiment
from kdgan_tf.errors import UserError
from kdgan_tf.train import parse_config

STAGED = ["classifier/player_settings.pretrain_epochs = 14",
          "classifier/player_settings.pretrain_patience = 1",
          "classifier/player_settings.pretrain_learning_rate = 0.05"]
PLATEAU = "classifier/player_settings.pretrain_plateau_learning_rates = (1e-3, 1e-4)"


def _run(model_dir, npz, *bindings, messages=None):
  gin.clear_config()
  try:
    parse_config([TINY_GIN, "supervised_c.gin"], [
        f"load_image_classification.original_order_npz = '{npz}'",
        "run_experiment.game_epochs = 1", *bindings])
    log = messages.append if messages is not None else (lambda message: None)
    return experiment.run_experiment(str(model_dir), log=log)
  finally:
    gin.clear_config()


def test_each_plateau_goes_on_at_the_next_rate_from_the_best_weights(tmp_path, tiny_npz):
  single = _run(tmp_path / "single", tiny_npz, *STAGED)["pretrain"]["classifier"]
  messages = []
  staged = _run(tmp_path / "staged", tiny_npz, *STAGED, PLATEAU,
                messages=messages)["pretrain"]["classifier"]
  curve = staged["curve"]
  stages = [c["stage"] for c in curve]
  # At lr 0.05 validation stops improving within the budget (else the test shows nothing).
  assert single["epochs_run"] < 14 and 1 in stages
  assert stages == sorted(stages)
  assert {c["stage"]: c["learning_rate"] for c in curve} == dict(
      enumerate((0.05, 1e-3, 1e-4)[:max(stages) + 1]))
  # Until the first plateau the staged run is the single-stage run, epoch for epoch.
  first = stages.index(1)
  assert [c["loss"] for c in curve[:first]] == [c["loss"] for c in single["curve"]]
  # It goes on from the single stage's best weights, and can only end as good or better.
  moved = [m for m in messages if "on from the best weights" in m]
  assert f"(epoch {single['best_epoch']})" in moved[0]
  assert staged["val_accuracy"] >= single["val_accuracy"]
  assert staged["cache_key"] != single["cache_key"]


class _Killed(Exception):
  pass


def test_a_run_killed_in_a_later_stage_resumes_in_it(tmp_path, tiny_npz):
  every_epoch = "run_experiment.checkpoint_every_secs = 0"
  # Apart, so that the resumed run cannot load the whole run's player from the cache.
  whole = _run(tmp_path / "a" / "whole", tiny_npz, *STAGED, PLATEAU, every_epoch)
  assert max(c["stage"] for c in whole["pretrain"]["classifier"]["curve"]) == 2

  def kill_at_the_second_move(message):
    if "learning rate 0.0001" in message:  # in stage 1, checkpointed, about to move on
      raise _Killed()

  folder = tmp_path / "b" / "resumed"
  with pytest.raises(_Killed):
    _run(folder, tiny_npz, *STAGED, PLATEAU, every_epoch, messages=_Appender(
        kill_at_the_second_move))
  resumed = _run(folder, tiny_npz, *STAGED, PLATEAU, every_epoch)
  strip = lambda record: [{k: v for k, v in c.items() if k != "seconds"}
                          for c in record["pretrain"]["classifier"]["curve"]]
  assert strip(resumed) == strip(whole)
  assert resumed["game"]["selected"] == whole["game"]["selected"]


class _Appender:
  """A `messages` list whose append runs `hook` (to kill a run at a chosen log line)."""

  def __init__(self, hook):
    self.append = hook


def test_plateau_rates_need_a_patience(tmp_path, tiny_npz):
  with pytest.raises(UserError, match="needs pretrain_patience"):
    _run(tmp_path / "bad", tiny_npz, PLATEAU)
