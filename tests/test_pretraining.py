"""Pretraining's plateau stages: on at the next learning rate from the best weights, resumable
from any kill, keyed apart in the cache (and old keys unchanged)."""
import json
import os

import gin
import keras
import pytest

from conftest import TINY_GIN
from kdgan_tf import experiment
from kdgan_tf.errors import UserError
from kdgan_tf.train import parse_config

STAGED = ["classifier/player_settings.pretrain_epochs = 14",
          "classifier/player_settings.pretrain_patience = 1",
          "classifier/player_settings.pretrain_learning_rate = 0.05"]
PLATEAU = "classifier/player_settings.pretrain_plateau_learning_rates = (1e-3, 1e-4)"
BEST = "pretrained_classifier.weights.h5"


def _run(model_dir, npz, *bindings, log=None):
  gin.clear_config()
  try:
    parse_config([TINY_GIN, "supervised_c.gin"], [
        f"load_image_classification.original_order_npz = '{npz}'",
        "run_experiment.game_epochs = 1", *bindings])
    return experiment.run_experiment(str(model_dir), log=log or (lambda message: None))
  finally:
    gin.clear_config()


def _key_fields(pretrain_info):
  with open(os.path.join(pretrain_info["published_to"], "entry.json")) as f:
    return json.load(f)["fields"]["settings"]


def test_each_plateau_goes_on_at_the_next_rate_from_the_best_weights(tmp_path, tiny_npz,
                                                                    monkeypatch):
  loads = []
  original = keras.Model.load_weights

  def spy(model, path, *args, **kwargs):
    loads.append(os.path.basename(str(path)))
    return original(model, path, *args, **kwargs)

  monkeypatch.setattr(keras.Model, "load_weights", spy)
  single = _run(tmp_path / "single", tiny_npz, *STAGED)["pretrain"]["classifier"]
  single_loads, messages = loads.count(BEST), []
  staged = _run(tmp_path / "staged", tiny_npz, *STAGED, PLATEAU,
                log=messages.append)["pretrain"]["classifier"]
  curve = staged["curve"]
  stages = [c["stage"] for c in curve]
  # At lr 0.05 validation stops improving within the budget (else the test shows nothing).
  assert single["epochs_run"] < 14 and single["ended_by"] == "plateau" and 1 in stages
  assert stages == sorted(stages)
  assert {c["stage"]: c["learning_rate"] for c in curve} == dict(
      enumerate((0.05, 1e-3, 1e-4)[:max(stages) + 1]))
  # Until the first plateau the staged run is the single-stage run, epoch for epoch.
  first = stages.index(1)
  assert [c["loss"] for c in curve[:first]] == [c["loss"] for c in single["curve"]]
  # Each move reloads the best weights (one load per move beyond the single run's final one),
  # starting from the single stage's best epoch; it can only end as good or better.
  assert loads.count(BEST) - 2 * single_loads == max(stages)
  moved = [m for m in messages if "on from the best weights" in m]
  assert len(moved) == max(stages) and f"(epoch {single['best_epoch']})" in moved[0]
  assert staged["val_accuracy"] >= single["val_accuracy"]
  # Keyed apart; a player without plateau rates keeps the key it had before they existed.
  assert staged["cache_key"] != single["cache_key"]
  assert "pretrain_plateau_learning_rates" not in _key_fields(single)
  assert _key_fields(staged)["pretrain_plateau_learning_rates"] == [1e-3, 1e-4]


def test_later_stages_can_have_their_own_augmentation(tmp_path, tiny_npz):
  plain = _run(tmp_path / "plain", tiny_npz, *STAGED, PLATEAU)["pretrain"]["classifier"]
  mirrored = _run(tmp_path / "mirrored", tiny_npz, *STAGED, PLATEAU,
                  "classifier/player_settings.pretrain_plateau_augmentation = @mirror")
  mirrored = mirrored["pretrain"]["classifier"]
  first = [c["stage"] for c in plain["curve"]].index(1)
  losses = lambda info, part: [c["loss"] for c in info["curve"]][part]
  assert losses(mirrored, slice(first)) == losses(plain, slice(first))  # stage 0: unchanged
  assert losses(mirrored, slice(first, None)) != losses(plain, slice(first, None))
  assert mirrored["cache_key"] != plain["cache_key"]
  assert _key_fields(mirrored)["plateau_augment"][0] == "mirror"


class _Killed(Exception):
  pass


@pytest.mark.parametrize("checkpoint_every_secs", [0, 10**6], ids=["every_epoch", "rarely"])
def test_a_run_killed_in_a_later_stage_resumes_in_it(tmp_path, tiny_npz, checkpoint_every_secs):
  """`rarely`: only the forced checkpoints (at each move, at the end of a phase), so the
  record and the best-weights file run ahead of the checkpoint when the run is killed."""
  every = f"run_experiment.checkpoint_every_secs = {checkpoint_every_secs}"
  # Apart, so that the resumed run cannot load the whole run's player from the cache.
  whole = _run(tmp_path / "a" / "whole", tiny_npz, *STAGED, PLATEAU, every)
  assert max(c["stage"] for c in whole["pretrain"]["classifier"]["curve"]) == 2

  def kill_at_the_second_move(message):
    if "learning rate 0.0001" in message:  # the move to stage 2, after stage 1's epochs
      raise _Killed()

  folder = tmp_path / "b" / "resumed"
  with pytest.raises(_Killed):
    _run(folder, tiny_npz, *STAGED, PLATEAU, every, log=kill_at_the_second_move)
  resumed = _run(folder, tiny_npz, *STAGED, PLATEAU, every)
  strip = lambda record: [{k: v for k, v in c.items() if k != "seconds"}
                          for c in record["pretrain"]["classifier"]["curve"]]
  assert strip(resumed) == strip(whole)
  assert resumed["game"]["selected"] == whole["game"]["selected"]


@pytest.mark.parametrize("bindings,match", [
    ([PLATEAU], "needs pretrain_patience"),
    (STAGED + ["classifier/player_settings.pretrain_plateau_learning_rates = (0.05,)"],
     "must differ"),
    (STAGED + ["classifier/player_settings.pretrain_plateau_augmentation = @mirror"],
     "needs pretrain_plateau_learning_rates"),
])
def test_bad_plateau_settings_fail_with_a_message(tmp_path, tiny_npz, bindings, match):
  with pytest.raises(UserError, match=match):
    _run(tmp_path / "bad", tiny_npz, *bindings)
