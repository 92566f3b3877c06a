"""The real entry point, end to end, on tiny generated data: train, kill, resume, export."""
import json
import os
import signal
import subprocess
import sys
import time

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from conftest import REPO, TINY_GIN, run_cli
from kdgan_tf.export import tflite_predict

# Enough epochs that the kill after two lands mid-game (an epoch here takes ~0.4 s).
GAME_EPOCHS = 12
VOLATILE = ("seconds", "train_seconds")  # wall-clock fields differ between runs


def _args(model_dir, npz):
  return [f"--gin_file={TINY_GIN}", f"--model_dir={model_dir}",
          f"--gin_bindings=load_image_classification.original_order_npz = '{npz}'",
          f"--gin_bindings=run_experiment.game_epochs = {GAME_EPOCHS}",
          # Every run here pretrains for itself (test_methods.py covers the cache).
          "--gin_bindings=run_experiment.pretrain_cache_dir = None"]


def _metrics(model_dir):
  with open(os.path.join(model_dir, "metrics.json")) as f:
    return json.load(f)


def _stable(record):
  """The parts of metrics.json that must be identical for two runs with the same seed."""
  game = [{k: v for k, v in e.items() if k not in VOLATILE} for e in record["game"]["epochs"]]
  pretrain = {p: [{k: v for k, v in c.items() if k not in VOLATILE} for c in info["curve"]]
              for p, info in record["pretrain"].items()}
  return game, pretrain


def _kill_during_game(args):
  """Starts the CLI and SIGKILLs it once two game epochs are checkpointed."""
  model_dir = args[1].split("=", 1)[1]
  env = dict(os.environ, PYTHONPATH=REPO)
  proc = subprocess.Popen([sys.executable, "-m", "kdgan_tf.train", *args], cwd=REPO, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 240
  path = os.path.join(model_dir, "metrics.json")
  while time.time() < deadline and proc.poll() is None:
    try:
      with open(path) as f:
        if len(json.load(f).get("game", {}).get("epochs", [])) >= 2:
          break
    except (OSError, ValueError):
      pass
    time.sleep(0.02)
  proc.send_signal(signal.SIGKILL)
  proc.wait()


@pytest.fixture(scope="module")
def runs(tiny_npz, tmp_path_factory):
  """One uninterrupted run, and one run killed mid-game then resumed by the same command."""
  base = tmp_path_factory.mktemp("runs")
  whole, resumed = str(base / "whole"), str(base / "resumed")
  first = run_cli(_args(whole, tiny_npz))
  assert first.returncode == 0, first.stderr[-3000:]
  _kill_during_game(_args(resumed, tiny_npz))
  killed_record = _metrics(resumed)
  second = run_cli(_args(resumed, tiny_npz))
  assert second.returncode == 0, second.stderr[-3000:]
  return dict(whole=whole, resumed=resumed, killed_record=killed_record,
              first=first, second=second)


def test_killed_run_resumes_and_equals_the_uninterrupted_run(runs):
  killed = runs["killed_record"]
  assert not killed.get("finished"), "the run finished before it could be killed"
  assert 2 <= len(killed["game"]["epochs"]) < GAME_EPOCHS
  assert "Resuming" in runs["second"].stdout
  whole, resumed = _metrics(runs["whole"]), _metrics(runs["resumed"])
  assert resumed["finished"] and [e["epoch"] for e in resumed["game"]["epochs"]] == list(
      range(1, GAME_EPOCHS + 1))
  # Same seed => identical metrics, even across a kill and resume (op determinism, stateless
  # sampling from checkpointed counters, per-epoch batch streams, saved dropout seeds).
  assert _stable(resumed) == _stable(whole)


def test_outputs_land_in_model_dir(runs):
  model_dir = runs["whole"]
  for name in ("metrics.json", "config.gin", "operative_config.gin", "classifier.tflite",
               "saved_model/saved_model.pb", "weights/best_classifier.weights.h5",
               "checkpoints/checkpoint"):
    assert os.path.exists(os.path.join(model_dir, name)), name
  events = os.listdir(os.path.join(model_dir, "tensorboard"))
  assert any(e.startswith("events.out.tfevents") for e in events)
  with open(os.path.join(model_dir, "operative_config.gin")) as f:
    operative = f.read()
  assert "KDGAN.alpha" in operative and "exponential_tau.decay_epochs" in operative
  record = _metrics(model_dir)
  game = record["game"]
  assert {"selected", "last", "authors_protocol", "pretrained"} <= set(game)
  selected = max(game["epochs"], key=lambda e: e["c_val_accuracy"])
  assert game["selected"]["val_accuracy"] == selected["c_val_accuracy"]
  assert game["authors_protocol"]["test_accuracy"] == max(
      e["c_test_accuracy"] for e in game["epochs"])
  for entry in game["epochs"]:
    for key in ("tau", "d_loss", "d_acc_true", "d_acc_generated", "c_adversarial", "c_distill",
                "t_adversarial", "t_distill", "c_val_accuracy", "c_test_accuracy"):
      assert entry[key] is not None and np.isfinite(entry[key]), key
  # The teacher (not the selected player) is evaluated every 5 epochs and at the last one.
  assert [e["epoch"] for e in game["epochs"] if "t_test_accuracy" in e] == [5, 10, 12]
  # No compiled function (training steps and evaluation) was traced more than once.
  assert record["trace_counts"] and all(
      count == 1 for count in record["trace_counts"].values()), record["trace_counts"]


def test_tflite_matches_the_saved_model(runs, tiny_npz):
  model_dir = runs["whole"]
  record = _metrics(model_dir)
  assert record["export"]["tflite_agreement"] >= 0.999
  with np.load(tiny_npz) as d:
    images = (d["x_test"][..., None] / 255.0).astype(np.float32)
  lite = tflite_predict(os.path.join(model_dir, "classifier.tflite"), images)
  serving = tf.saved_model.load(os.path.join(model_dir, "saved_model")).signatures[
      "serving_default"]
  reference = serving(images=tf.constant(images))["probabilities"].numpy()
  np.testing.assert_allclose(lite, reference, atol=1e-4)
  np.testing.assert_allclose(lite.sum(-1), 1.0, atol=1e-4)


def test_rerunning_a_finished_run_changes_nothing(runs, tiny_npz):
  before = _metrics(runs["whole"])
  again = run_cli(_args(runs["whole"], tiny_npz))
  assert again.returncode == 0 and "finished run" in again.stdout
  assert _metrics(runs["whole"]) == before


def test_missing_data_is_one_sentence_and_a_nonzero_exit(tmp_path):
  result = run_cli([f"--gin_file={TINY_GIN}", f"--model_dir={tmp_path / 'run'}"],
                   env={"TFDS_DATA_DIR": str(tmp_path / "nowhere")})
  assert result.returncode == 2
  assert "Traceback" not in result.stderr
  assert "set TFDS_DATA_DIR" in result.stderr


def test_bad_gin_binding_is_one_sentence_and_a_nonzero_exit(tmp_path):
  result = run_cli([f"--gin_file={TINY_GIN}", f"--model_dir={tmp_path / 'run'}",
                    "--gin_bindings=KDGAN.alpah = 0.3"])
  assert result.returncode == 2
  assert "Traceback" not in result.stderr
  assert "bad gin configuration" in result.stderr and "alpah" in result.stderr


def test_bad_gin_value_is_one_sentence_and_a_nonzero_exit(tmp_path, tiny_npz):
  result = run_cli(_args(str(tmp_path / "run"), tiny_npz) + ["--gin_bindings=KDGAN.alpha = 1.5"])
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert "KDGAN.alpha = 1.5 is invalid: it must be a number in [0, 1]" in result.stderr


def test_resuming_with_another_configuration_is_refused(runs, tiny_npz, tmp_path):
  model_dir = str(tmp_path / "changed")
  _kill_during_game(_args(model_dir, tiny_npz))
  result = run_cli(_args(model_dir, tiny_npz) + ["--gin_bindings=KDGAN.beta = 3.0"])
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert "different configuration" in result.stderr


def test_corrupt_checkpoint_is_a_clear_error(runs, tiny_npz, tmp_path):
  model_dir = tmp_path / "corrupt"
  os.makedirs(model_dir / "checkpoints")
  for name in os.listdir(os.path.join(runs["whole"], "checkpoints")):
    target = model_dir / "checkpoints" / name
    with open(os.path.join(runs["whole"], "checkpoints", name), "rb") as src:
      data = src.read()
    target.write_bytes(data[: len(data) // 3] if ".data-" in name else data)
  result = run_cli(_args(str(model_dir), tiny_npz))
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert "cannot restore" in result.stderr


def test_tfds_path_in_process_with_mock_data(tmp_path):
  """The default tfds loader through `run_experiment`, with tfds' mock data (no files)."""
  from kdgan_tf import experiment  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  try:
    gin.parse_config_files_and_bindings([TINY_GIN], ["run_experiment.game_epochs = 1"])
    with tfds.testing.mock_data(num_examples=300):
      record = experiment.run_experiment(str(tmp_path / "mock"), export=False, log=lambda m: None)
  finally:
    gin.clear_config()
  assert record["finished"] and record["n"] == 40 and len(record["game"]["epochs"]) == 1


def test_mirrored_strategy_over_two_replicas(tiny_npz, tmp_path):
  """Data-parallel training (2 logical CPUs): global-batch losses, explicit reductions."""
  model_dir = str(tmp_path / "mirrored")
  args = _args(model_dir, tiny_npz)[:3] + ["--gin_bindings=run_experiment.game_epochs = 2",
                                           "--strategy=mirrored", "--num_virtual_cpus=2"]
  result = run_cli(args)
  assert result.returncode == 0, result.stderr[-3000:]
  record = _metrics(model_dir)
  assert record["replicas"] == 2 and record["strategy"] == "MirroredStrategy"
  assert record["finished"] and record["export"]["tflite_agreement"] >= 0.999
  for entry in record["game"]["epochs"]:
    assert np.isfinite(entry["d_loss"]) and 0.0 <= entry["d_acc_true"] <= 1.0
