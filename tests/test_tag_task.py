"""Every method on multi-label data with privileged views, through the same trainer, and the
classifier that comes out: it reads the image view only (Keras, SavedModel, TF Lite)."""
import json
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO, run_cli
from kdgan_tf import experiment
from kdgan_tf.config import parse_config
from kdgan_tf.export.tflite import SIGNATURE, _interpreter
from kdgan_tf.trainers import METHODS
from tag_fixtures import write_tag_npz
from test_methods import GIN_FILES, _h5_arrays

TAG_GIN = os.path.join(REPO, "gin_configs", "own_data.gin")
QUICK = ["run_experiment.game_epochs = 1", "run_experiment.batch_size = 10",
         "classifier/player_settings.pretrain_epochs = 1",
         "teacher/player_settings.pretrain_epochs = 1",
         "discriminator/player_settings.pretrain_epochs = 1",
         "mlp_classifier.hidden_units = (16,)", "privileged_scorer.projection_units = 8",
         "privileged_scorer.hidden_units = (16,)", "privileged_scorer.embedding_dim = 4",
         "KDGAN.num_negatives = 3", "NaGAN.num_negatives = 3", "KDGAN.d_passes = 1",
         "NaGAN.d_passes = 1", "concrete_pathwise.num_samples = 3", "reinforce.num_samples = 3"]


def _views(text):
  other = "text" if text else "privileged"
  return ("run_experiment.player_views = {'classifier': ('image',), 'teacher': ('image', "
          f"'{other}'), 'discriminator': ('image', '{other}')}}")


def _run(model_dir, npz, gin_file, text=False, *bindings):
  gin.clear_config()
  try:
    parse_config([TAG_GIN, gin_file], [f"load_npz_dataset.path = '{npz}'", _views(text),
                                       *QUICK, *bindings])
    return experiment.run_experiment(str(model_dir), log=lambda message: None)
  finally:
    gin.clear_config()


@pytest.fixture(scope="module")
def tag_npz(tmp_path_factory):
  return write_tag_npz(str(tmp_path_factory.mktemp("tags") / "tags.npz"))


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
  return tmp_path_factory.mktemp("tag_methods")


@pytest.mark.parametrize("method", sorted(GIN_FILES))
def test_method_trains_on_privileged_tags(method, runs_dir, tag_npz):
  model_dir = runs_dir / method
  record = _run(model_dir, tag_npz, GIN_FILES[method])
  assert record["finished"] and record["task"] == "multi_label"
  assert record["selection_metric"] == "P@3"
  assert record["player_views"].get("classifier", ["image"]) == ["image"]
  assert record["player_views"].get("teacher", ["image", "privileged"]) == ["image", "privileged"]
  player = METHODS[method]().selected_player
  before = _h5_arrays(model_dir / "weights" / f"pretrained_{player}.weights.h5")
  after = _h5_arrays(model_dir / "weights" / f"best_{player}.weights.h5")
  assert any(not np.array_equal(a, b) for a, b in zip(before, after))
  (epoch,) = record["game"]["epochs"]
  prefix = "c" if player == "classifier" else "t"
  for metric in ("P@3", "P@5", "F@3", "F@5", "MAP", "MRR"):
    assert 0.0 <= epoch[f"{prefix}_test_{metric}"] <= 1.0
  assert all(np.isfinite(v) for k, v in epoch.items() if k.endswith(("loss", "_floor", "_mass")))
  if "d_loss" in epoch:  # D's diagnostics: w in [0, 1], floor in [0, 2 ln 2]
    assert 0.0 <= epoch["d_true_mass"] <= 1.0 and 0.0 <= epoch["d_loss_floor"] <= 1.3863
  assert (model_dir / "classifier.tflite").exists() == (player == "classifier")


def test_classifier_export_has_no_privileged_input(runs_dir, tag_npz):
  model_dir = runs_dir / "kdgan"
  if not (model_dir / "metrics.json").exists():
    _run(model_dir, tag_npz, "kdgan.gin")
  import keras  # pylint: disable=g-import-not-at-top
  from kdgan_tf.models import mlp_classifier  # pylint: disable=g-import-not-at-top
  classifier = mlp_classifier((8,), 6, hidden_units=(16,))
  classifier.load_weights(str(model_dir / "weights" / "best_classifier.weights.h5"))
  assert len(classifier.inputs) == 1 and tuple(classifier.inputs[0].shape) == (None, 8)
  loaded = tf.saved_model.load(str(model_dir / "saved_model"))
  spec = loaded.signatures[SIGNATURE].structured_input_signature[1]
  assert list(spec) == ["images"] and tuple(spec["images"].shape) == (None, 8)
  inputs = _interpreter(str(model_dir / "classifier.tflite")).get_signature_list()[SIGNATURE]
  assert inputs["inputs"] == ["images"]
  del keras


def test_text_teacher_with_lstm_and_token_view(tmp_path):
  npz = write_tag_npz(str(tmp_path / "text.npz"), tokens=True)
  record = _run(tmp_path / "kdgan", npz, "kdgan.gin", True)
  assert record["player_views"]["teacher"] == ["image", "text"]
  assert record["export"]["tflite_agreement"] >= 0.999


def test_bring_your_own_file_through_the_cli(tmp_path):
  npz = write_tag_npz(str(tmp_path / "own.npz"))
  model_dir = tmp_path / "run"
  result = run_cli([f"--gin_file={TAG_GIN}", "--gin_file=kdgan.gin",
                    f"--gin_bindings=load_npz_dataset.path = '{npz}'",
                    *[f"--gin_bindings={b}" for b in QUICK + [_views(False)]],
                    f"--model_dir={model_dir}"])
  assert result.returncode == 0, result.stderr[-3000:]
  assert "classifier test P@3 at the validation-selected epoch" in result.stdout
  record = json.loads((model_dir / "metrics.json").read_text())
  assert record["dataset"] == "tiny_tags" and (model_dir / "classifier.tflite").exists()
  missing = run_cli([f"--gin_file={TAG_GIN}", f"--model_dir={tmp_path / 'missing'}",
                     f"--gin_bindings=load_npz_dataset.path = '{tmp_path / 'nope.npz'}'"])
  assert missing.returncode == 2 and "Traceback" not in missing.stderr
  assert "set the gin binding load_npz_dataset.path" in missing.stderr
