"""CIFAR-10 (Table 1's right half): subset rules, both preprocessings, the players' sizes and
`run.sh table1-cifar10 --quick` end to end (KDGAN, both protocols, export), on generated data."""
import json
import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO
from kdgan_tf import grid_datasets
from kdgan_tf.data import make_split_indices
from kdgan_tf.data.augment import mirror, pad_crop_flip
from kdgan_tf.data.image_classification import _original_order
from kdgan_tf.grid import definition
from kdgan_tf.grid import report as grid_report
from kdgan_tf.models.cifar import preact_resnet, tutorial_cnn
from kdgan_tf.models.lenet import lenet
from kdgan_tf.models.normalization import normalizing


def _trainable(model):
  return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


@pytest.fixture(scope="module")
def tiny_cifar_npz(tmp_path_factory):
  """Keras-layout CIFAR-shaped .npz (32x32x3): 400 train / 100 test, class = a bright square's
  position, in a known file order."""
  rng = np.random.RandomState(1)

  def make(count):
    y = rng.randint(0, 10, size=count).astype(np.uint8)
    x = (rng.rand(count, 32, 32, 3) * 60).astype(np.uint8)
    for i, label in enumerate(y):
      r, c = divmod(int(label), 5)
      x[i, 4 + 12 * r: 12 + 12 * r, 1 + 6 * c: 6 + 6 * c, :] = 255
    return x, y

  (x_train, y_train), (x_test, y_test) = make(400), make(100)
  path = tmp_path_factory.mktemp("cifar") / "tiny_cifar.npz"
  np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
  return str(path)


# ------------------------------------------------------------------------------ subsets
def test_first_per_class_takes_each_classs_first_images_in_file_order():
  labels = np.array([3, 1, 3, 0, 1, 1, 0, 3, 0, 2, 2, 2])
  train, val = make_split_indices(labels, n=4, validation_size=3, rule="first_per_class",
                                  num_classes=4)
  np.testing.assert_array_equal(train, [0, 1, 3, 9])  # the first 0, 1, 2 and 3 in file order
  assert len(val) == 3 and not set(train) & set(val)
  train, _ = make_split_indices(labels, n=8, validation_size=0, rule="first_per_class",
                                num_classes=4)
  np.testing.assert_array_equal(train, [0, 1, 2, 3, 4, 6, 9, 10])


def test_every_image_means_all_but_the_validation_split():
  labels = np.repeat(np.arange(10), 50)
  train, val = make_split_indices(labels, n=500, validation_size=100, seed=2)
  assert len(train) == 400 and len(val) == 100
  assert sorted(set(train) | set(val)) == list(range(500))
  train, val = make_split_indices(labels, n=500, validation_size=0, rule="first_per_class")
  np.testing.assert_array_equal(train, np.arange(500))
  with pytest.raises(Exception, match="validation_size = 0"):
    make_split_indices(labels, n=500, validation_size=10, rule="first_per_class")


def test_tfds_ids_give_back_the_original_file_order():
  ids = [b"train_00002", b"train_00000", b"train_00010", b"train_00001"]
  np.testing.assert_array_equal(_original_order(ids), [1, 3, 0, 2])
  assert _original_order([b"abc", b"train_1"]) is None


# ------------------------------------------------------------------------- preprocessing
def test_mirror_returns_each_image_or_its_mirror_image():
  x = tf.random.uniform([64, 6, 6, 3], seed=1)
  out, x = mirror(x, tf.constant([1, 2])).numpy(), x.numpy()
  kept = [np.array_equal(out[i], x[i]) for i in range(64)]
  flipped = [np.array_equal(out[i], x[i, :, ::-1]) for i in range(64)]
  assert all(a or b for a, b in zip(kept, flipped))
  assert 15 < sum(flipped) < 49  # about half, not all or none
  np.testing.assert_array_equal(mirror(x, tf.constant([1, 2])).numpy(), out)  # seeded


def test_pad_crop_flip_is_a_zero_filled_shift_of_the_image_or_its_mirror():
  x = tf.random.uniform([16, 8, 8, 1], minval=0.1, maxval=1.0, seed=3).numpy()
  out = pad_crop_flip(tf.constant(x), tf.constant([4, 5]), padding=2).numpy()
  padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
  for i in range(16):
    crops = [img[r:r + 8, c:c + 8] for img in (padded[i], padded[i, :, ::-1])
             for r in range(5) for c in range(5)]
    assert any(np.array_equal(out[i], crop) for crop in crops), i
  assert out.shape == x.shape


def test_per_pixel_mean_uses_the_training_images_and_standardization_each_image():
  images = np.random.RandomState(0).rand(20, 4, 4, 3).astype(np.float32)
  build = normalizing(lambda input_shape, num_classes, name: _identity_model(input_shape, name),
                      "per_pixel_mean", images)
  model = build(input_shape=(4, 4, 3), num_classes=10, name="classifier")
  np.testing.assert_allclose(model(images).numpy().mean(axis=0), 0.0, atol=1e-6)
  standard = normalizing(lambda input_shape, num_classes, name: _identity_model(
      input_shape, name), "per_image_standardization", images)(
          input_shape=(4, 4, 3), num_classes=10, name="classifier")
  np.testing.assert_allclose(standard(images).numpy(),
                             tf.image.per_image_standardization(images).numpy(), atol=1e-5)
  with pytest.raises(Exception, match="input_normalization must be one of"):
    normalizing(lambda **kw: None, "zca", images)


def _identity_model(input_shape, name):
  import keras  # pylint: disable=g-import-not-at-top
  inputs = keras.Input(shape=tuple(input_shape))
  return keras.Model(inputs, keras.layers.Identity()(inputs), name=name)


# ------------------------------------------------------------------------------- players
@pytest.mark.parametrize("builder, kwargs, count", [
    (tutorial_cnn, {}, 1_756_426),          # the authors' C and D (facts §3)
    (preact_resnet, {"depth": 20}, 269_722),  # the authors' T
    (preact_resnet, {"depth": 32}, 464_154),  # their commented-out 5-unit option
    (preact_resnet, {"depth": 110}, 1_727_962),  # the paper's "ResNet (1.7M)"
    (lenet, {"dense_units": 110}, 505_476),  # the paper's "LeNet (0.5M)"
])
def test_cifar_players_have_the_documented_sizes(builder, kwargs, count):
  model = builder(input_shape=(32, 32, 3), num_classes=10, **kwargs)
  assert _trainable(model) == count
  assert model(np.zeros((2, 32, 32, 3), np.float32)).shape == (2, 10)


# ------------------------------------------------------------------------------ runs
def test_run_sh_table1_cifar10_quick_end_to_end(tmp_path, tiny_cifar_npz):
  runs_dir = str(tmp_path / "grid")
  args = ["bash", os.path.join(REPO, "run.sh"), "table1-cifar10", "--quick", "--ns=40",
          f"--runs_dir={runs_dir}", "--methods=kdgan",
          f"--gin_bindings=load_image_classification.original_order_npz = '{tiny_cifar_npz}'",
          "--gin_bindings=load_image_classification.validation_size = 40",
          "--gin_bindings=run_experiment.batch_size = 20"]
  result = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
  assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
  assert result.stdout.count(": done") == 2  # one per protocol
  report = open(os.path.join(runs_dir, "REPORT.md")).read()
  assert report.startswith("# Table 1 (CIFAR-10), reproduced")
  assert "first n/10 images per class" in report and "JPEG export" in report
  for protocol in ("honest", "authors"):
    record = json.load(open(os.path.join(runs_dir, protocol, "cifar10_n40", "kdgan_s0",
                                         "metrics.json")))
    assert record["finished"] and record["dataset"] == "cifar10"
  # The authors' recipe: per-image standardisation inside the model, pad-crop-flip; the
  # exported classifier takes raw [0, 1] pixels and agrees with Keras.
  model_dir = os.path.join(runs_dir, "authors", "cifar10_n40", "kdgan_s0")
  record = json.load(open(os.path.join(model_dir, "metrics.json")))
  assert record["input_normalization"] == "per_image_standardization"
  assert record["augmentation"] == "pad_crop_flip"
  assert record["export"]["tflite_agreement"] >= 0.999
  loaded = tf.saved_model.load(os.path.join(model_dir, "saved_model"))
  spec = loaded.signatures["serving_default"].structured_input_signature[1]
  assert [tuple(s.shape) for s in spec.values()] == [(None, 32, 32, 3)]
  # cifar10.gin evaluates the game every 3 epochs and pretraining every 5, always the last:
  # quick.gin's 2 game epochs and 2 classifier epochs are evaluated at the second only.
  epochs = record["game"]["epochs"]
  assert "c_val_accuracy" not in epochs[0] and epochs[1]["c_val_accuracy"] is not None
  assert record["game"]["selected"]["epoch"] == 2
  curve = record["pretrain"]["classifier"]["curve"]
  assert curve[0]["val_accuracy"] is None and curve[1]["val_accuracy"] is not None


def test_a_grid_on_another_dataset_names_it_and_shows_no_paper_column(tmp_path):
  dataset = grid_datasets.DATASETS["mnist"]
  name = grid_datasets.resolved_name(
      dataset, ["load_image_classification.name = 'fashion_mnist'"])
  assert name == "fashion_mnist"
  runs = definition.grid(["honest"], [100], ["kdgan"], 1, "R", dataset, name)
  assert runs[0].model_dir == os.path.join("R", "honest", "fashion_mnist_n100", "kdgan_s0")
  row = {"protocol": "honest", "n": 100, "method": "kdgan", "seed": 0, "selected_test": 0.8,
         "best_test": 0.9, "pretrained_test": None, "train_size": 100,
         "teacher_pretrained_test": None, "game_seconds": 1.0, "pretrain_seconds": 0.0,
         "tensorflow": "2.x"}
  paper = {"source": "the paper", "columns": [], "rows": {}}
  text = grid_report.report_markdown([row], paper, "cmd", False, dataset_name=name)
  assert text.startswith("# Table 1 (fashion_mnist), reproduced")
  assert "paper |" not in text.split("## ")[0] and "n = 100 paper" not in text
  assert "n = 100 honest" in text
  cifar = grid_datasets.protocol_files(grid_datasets.DATASETS["cifar10"], "authors", 50000)
  assert cifar == ["cifar10.gin", "cifar10_n50000.gin", "cifar10_authors.gin",
                   "cifar10_authors_n50000.gin"]


def test_diagnostics_compare_teacher_and_student_and_report_d_by_hand():
  from kdgan_tf import game_diagnostics  # pylint: disable=g-import-not-at-top
  record = {"game": {"pretrained": {"c_test_accuracy": 0.40, "t_test_accuracy": 0.45},
                     "epochs": [{"d_loss": 1.0}, {"d_loss": 0.9, "d_true_mass": 0.5,
                                                  "d_loss_floor": 0.6}]}}
  fields = game_diagnostics.diagnostic_fields(record)
  assert fields["d_loss_last"] == 0.9 and fields["t_pretrained_test"] == 0.45
  rows = [dict(fields, protocol="honest", n=500, method="kdgan"),
          dict(fields, protocol="honest", n=500, method="kdgan", t_pretrained_test=0.43),
          dict(fields, protocol="authors", n=500, method="kdgan", t_pretrained_test=0.30)]
  text = "\n".join(game_diagnostics.diagnostic_lines(rows))
  assert "| honest | 500 | 4.00 ± 1.41 (2) | yes |" in text  # +5 and +3 points
  assert "| authors | 500 | -10.00 ± 0.00 (1) | no |" in text
  assert "| honest | 500 | kdgan | 0.9000 ± 0.0000 (2) | 0.5000 ± 0.0000 (2) |" in text
  assert game_diagnostics.diagnostic_lines([dict(protocol="honest", n=1, method="x")]) == []


def test_a_normalised_players_cache_key_does_not_depend_on_keras_layer_numbering():
  """Keras numbers layers per process; a grid builds many players in one process, so the
  pretraining cache must key a nested (normalised) player without those names."""
  from kdgan_tf.trainers.pretrain_cache import architecture_signature  # pylint: disable=g-import-not-at-top
  images = np.zeros((4, 32, 32, 3), np.float32)
  build = normalizing(tutorial_cnn, "per_pixel_mean", images)
  first = architecture_signature(build(input_shape=(32, 32, 3), num_classes=10,
                                       name="classifier"))
  tutorial_cnn(input_shape=(32, 32, 3), num_classes=10)  # advances Keras' layer counters
  again = architecture_signature(build(input_shape=(32, 32, 3), num_classes=10,
                                       name="classifier"))
  assert json.dumps(first, sort_keys=True, default=str) == json.dumps(
      again, sort_keys=True, default=str)


CIFAR_METHODS = ("supervised_c", "supervised_t", "mimic", "distn", "noisy", "codis", "nagan",
                 "kdgan_wo_gm", "kdgan")


@pytest.mark.parametrize("method", CIFAR_METHODS)
def test_every_method_trains_and_exports_under_the_cifar10_configs(tmp_path_factory,
                                                                   tiny_cifar_npz, method):
  """cifar10.gin + <method>.gin + quick.gin (the grid's honest cell, tiny players, one game
  epoch) on 32x32x3 images: every method trains its player and exports a classifier that takes
  raw pixels (SUPERVISED-T trains only T: nothing to deploy); the runs share one pretraining
  cache (one folder), as in the grid. (The CLI path is `run.sh table1-cifar10 --quick` above.)"""
  import gin  # pylint: disable=g-import-not-at-top
  from kdgan_tf import experiment  # pylint: disable=g-import-not-at-top
  from kdgan_tf.config import parse_config  # pylint: disable=g-import-not-at-top
  folder = tmp_path_factory.getbasetemp() / "cifar_methods"
  gin.clear_config()
  try:
    parse_config(["cifar10.gin", f"{method}.gin", "quick.gin"], [
        f"load_image_classification.original_order_npz = '{tiny_cifar_npz}'",
        "load_image_classification.validation_size = 40", "load_image_classification.n = 40",
        "run_experiment.batch_size = 20", "run_experiment.game_epochs = 1",
        "run_experiment.pretrain_cache_dir = 'auto'"])
    record = experiment.run_experiment(str(folder / method), log=lambda message: None)
  finally:
    gin.clear_config()
  assert record["finished"] and record["method"] == method and record["dataset"] == "cifar10"
  assert record["selected_player"] == ("teacher" if method == "supervised_t" else "classifier")
  if method == "supervised_t":  # only C is deployed: a teacher-only run exports nothing
    assert "export" not in record and not os.path.exists(folder / method / "classifier.tflite")
  else:
    assert record["export"]["tflite_agreement"] >= 0.99
    assert os.path.exists(folder / method / "classifier.tflite")
