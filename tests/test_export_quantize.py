"""Deployment: quantised TF Lite variants, the compression table (C vs T) and kdgan_tf.predict.

One tiny DISTN run (C and a pretrained T, no D: the cheapest run with a teacher) is trained and
exported once for the module; every test reads its outputs.
"""
import json
import os
import subprocess
import sys
import types

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO, TINY_GIN
from kdgan_tf import experiment, predict, tasks
from kdgan_tf.config import parse_config
from kdgan_tf.errors import UserError
from kdgan_tf.export import __main__ as export_cli
from kdgan_tf.export import compression_table, quantize, run_dir, tflite

VARIANT_FILES = ("classifier_float32.tflite", "classifier_float16.tflite",
                 "classifier_dynamic.tflite", "classifier_int8.tflite")


@pytest.fixture(scope="module")
def exported(tiny_npz, tmp_path_factory):
  """The run folder after `--quantize=all --compression_table`, the calibration examples the
  int8 converter saw, and the printed lines."""
  model_dir = str(tmp_path_factory.mktemp("export") / "distn")
  gin.clear_config()
  try:
    parse_config([TINY_GIN, "distn.gin"], [
        f"load_image_classification.original_order_npz = '{tiny_npz}'",
        "run_experiment.game_epochs = 1", "run_experiment.pretrain_cache_dir = None"])
    experiment.run_experiment(model_dir, log=lambda message: None)
  finally:
    gin.clear_config()
  calibration, printed = [], []
  original = quantize.representative_dataset

  def spy(train_inputs, size=500, seed=0):
    generate = original(train_inputs, size, seed)

    def recorded():
      for sample in generate():
        calibration.append(sample[quantize.INPUT_NAME][0].copy())
        yield sample
    return recorded

  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(quantize, "representative_dataset", spy)
    try:
      report, rows = export_cli.run_export(model_dir, "all", compression=True, latency_runs=20,
                                           log=printed.append)
    finally:
      gin.clear_config()
  data = np.load(tiny_npz)
  return types.SimpleNamespace(dir=model_dir, report=report, rows=rows, calibration=calibration,
                               printed="\n".join(printed),
                               x_train=data["x_train"][..., None] / np.float32(255),
                               x_test=data["x_test"][..., None] / np.float32(255),
                               y_test=data["y_test"].astype(np.int64))


def test_every_variant_is_written_and_reported(exported):
  for name in VARIANT_FILES:
    assert os.path.getsize(os.path.join(exported.dir, name)) > 0
  assert [r["file"] for r in exported.report["variants"]] == list(VARIANT_FILES)
  on_disk = json.load(open(os.path.join(exported.dir, "export_report.json")))
  assert on_disk["latency"]["num_threads"] == 1 and on_disk["metric"] == "accuracy"
  assert on_disk["input_signature"]["shape"] == [None, 28, 28, 1]  # from C's own input spec
  for r in on_disk["variants"]:
    assert r["input_shape"] == [None, 28, 28, 1]
    assert r["bytes"] == os.path.getsize(os.path.join(exported.dir, r["file"]))
    assert r["latency_ms_batch1"] > 0
  sizes = {r["variant"]: r["bytes"] for r in exported.report["variants"]}
  assert sizes["int8"] < sizes["float16"] < sizes["none"]
  assert "int8" in exported.printed and "1 thread(s)" in exported.printed
  assert run_dir.read_labels(os.path.join(exported.dir, "labels.txt")) == [str(i) for i in
                                                                           range(10)]


def test_int8_model_has_int8_weights_and_float_edges(exported):
  path = os.path.join(exported.dir, "classifier_int8.tflite")
  details = tflite._interpreter(path).get_tensor_details()  # pylint: disable=protected-access
  kernels = [t for t in details if list(t["shape"]) == [32, 784]]  # the first dense layer
  assert kernels and all(t["dtype"] == np.int8 for t in kernels)
  activations = [t for t in details if list(t["shape"]) == [1, 32]]
  assert activations and all(t["dtype"] == np.int8 for t in activations)
  runner = predict.load_model(path)[0]
  assert runner.get_input_details()["images"]["dtype"] == np.float32  # documented choice
  assert runner.get_output_details()["probabilities"]["dtype"] == np.float32
  counts = quantize.tensor_dtypes(os.path.join(exported.dir, "classifier_float32.tflite"))
  assert "int8" not in counts
  assert "float16" in quantize.tensor_dtypes(os.path.join(exported.dir,
                                                          "classifier_float16.tflite"))


def test_agreement_and_accuracy_match_a_hand_computation(exported):
  fn = tf.saved_model.load(os.path.join(exported.dir, "saved_model")).signatures[
      tflite.SIGNATURE]
  reference = fn(images=tf.constant(exported.x_test))["probabilities"].numpy()
  row = next(r for r in exported.report["variants"] if r["variant"] == "int8")
  lite = tflite.tflite_predict(os.path.join(exported.dir, row["file"]), exported.x_test)
  agree = correct = ref_correct = 0
  for p, q, y in zip(lite, reference, exported.y_test):
    agree += int(np.argmax(p) == np.argmax(q))
    correct += int(np.argmax(p) == y)
    ref_correct += int(np.argmax(q) == y)
  n = len(exported.y_test)
  assert row["agreement"] == pytest.approx(agree / n)
  assert row["accuracy"] == pytest.approx(correct / n)
  assert exported.report["float_reference"]["accuracy"] == pytest.approx(ref_correct / n)
  assert row["accuracy_drop_points"] == pytest.approx(100 * (ref_correct - correct) / n)
  probs = np.array([[.1, .9], [.8, .2], [.3, .7], [.6, .4]])
  ref = np.array([[.2, .8], [.7, .3], [.9, .1], [.1, .9]])
  out = quantize.compare(probs, ref, np.array([1, 0, 0, 0]), tasks.SingleLabel(2))
  assert out == {"agreement": 0.5, "accuracy": 0.75}


def test_int8_is_calibrated_on_training_images_only(exported):
  train = {x.tobytes() for x in exported.x_train.astype(np.float32)}
  test = {x.tobytes() for x in exported.x_test.astype(np.float32)}
  seen = exported.calibration
  assert len(seen) >= 40  # every one of the n = 40 training images, at least once
  assert all(x.astype(np.float32).tobytes() in train for x in seen)
  assert not any(x.astype(np.float32).tobytes() in test for x in seen)
  row = next(r for r in exported.report["variants"] if r["variant"] == "int8")
  assert row["calibration"] == {"split": "train", "examples": 40}


def test_compression_table_has_classifier_and_teacher(exported):
  c, t = exported.rows
  assert (c["player"], t["player"]) == ("classifier", "teacher")
  assert c["parameters"] == 784 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
  assert t["parameters"] > 0 and t["weights"] == "weights/pretrained_teacher.weights.h5"
  for r in (c, t):
    for key in ("float32_file", "int8_file"):
      assert os.path.exists(os.path.join(exported.dir, r[key]))
    assert r["int8_bytes"] < r["float32_bytes"] and r["int8_latency_ms"] > 0
  assert c["keras_accuracy"] == exported.report["float_reference"]["accuracy"]  # same C
  assert c["int8_file"] == "classifier_int8.tflite"
  assert c["parameter_ratio_vs_teacher"] == pytest.approx(t["parameters"] / c["parameters"])
  text = open(os.path.join(exported.dir, "compression_table.md")).read()
  assert "| C (deployed) |" in text and "| T (teacher) |" in text
  assert json.load(open(os.path.join(exported.dir, "compression_table.json")))["rows"][1][
      "player"] == "teacher"
  multi_view = types.SimpleNamespace(views={"teacher": ("image", "text")})
  assert "several inputs" in compression_table._tflite_reason(  # pylint: disable=protected-access
      multi_view, "teacher")


def _png(path, image):
  tf.io.write_file(path, tf.io.encode_png(tf.constant(image, tf.uint8)))
  return path


def test_predict_prints_label_names_for_png_and_npy(exported, tmp_path):
  model = os.path.join(exported.dir, "classifier_int8.tflite")
  png = _png(str(tmp_path / "digit.png"), np.round(exported.x_test[0] * 255))
  rgb = np.repeat(np.round(exported.x_test[1] * 255), 3, -1)
  big = _png(str(tmp_path / "rgb.png"), tf.image.resize(rgb, (56, 56), "nearest").numpy())
  npy = str(tmp_path / "two.npy")
  np.save(npy, exported.x_test[2:4])
  names = [f"class-{i}" for i in range(10)]
  labels = tmp_path / "names.txt"
  labels.write_text("\n".join(names) + "\n")
  results = predict.predict(model, [png, big, npy], top_k=2, labels_path=str(labels))
  lite = tflite.tflite_predict(model, exported.x_test[:4])
  assert [r[0] for r in results] == [png, big, f"{npy}[0]", f"{npy}[1]"]
  for (_, ranked), p, i in zip(results, lite, range(4)):
    assert len(ranked) == 2 and ranked[0][0] == names[int(np.argmax(p))], i
    assert ranked[0][1] >= ranked[1][1]
  env = dict(os.environ, PYTHONPATH=REPO)
  done = subprocess.run([sys.executable, "-m", "kdgan_tf.predict", f"--model={model}", npy,
                         "--top_k=1"], capture_output=True, text=True, env=env, cwd=REPO,
                        timeout=120)
  assert done.returncode == 0, done.stderr
  assert done.stdout.splitlines() == [  # label names from the labels.txt beside the model
      f"{npy}[{i}]: {int(np.argmax(lite[2 + i]))} ({results[2 + i][1][0][1]:.4f})"
      for i in range(2)]


def test_predict_bad_inputs_are_one_sentence_errors(exported, tmp_path):
  model = os.path.join(exported.dir, "classifier_float32.tflite")
  bad_png = tmp_path / "bad.png"
  bad_png.write_text("not an image")
  wrong = str(tmp_path / "wrong.npy")
  np.save(wrong, np.zeros([3, 5], np.float32))
  short = tmp_path / "short.txt"
  short.write_text("a\nb\n")
  cases = [((model, [str(bad_png)]), "not a readable"),
           ((model, [str(tmp_path / "missing.png")]), "does not exist"),
           ((model, [wrong]), r"shape \[3, 5\]"),
           ((model, [str(short)]), "unknown input type"),
           ((str(short), [wrong]), "is not a TF Lite model"),
           ((model, []), "at least one input")]
  for (path, inputs), words in cases:
    with pytest.raises(UserError, match=words) as error:
      predict.predict(path, inputs)
    assert "\n" not in str(error.value)
  with pytest.raises(UserError, match="2 label names"):
    predict.predict(model, [wrong], labels_path=str(short))
  with pytest.raises(UserError, match="feature vectors"):
    predict.read_inputs(_png(str(tmp_path / "x.png"), np.zeros([4, 4, 1])), [5])


def test_export_without_saved_model_says_what_to_run(tmp_path):
  (tmp_path / "config.gin").write_text("")
  (tmp_path / "metrics.json").write_text("{}")
  env = dict(os.environ, PYTHONPATH=REPO)
  done = subprocess.run([sys.executable, "-m", "kdgan_tf.export", f"--model_dir={tmp_path}"],
                        capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
  assert done.returncode == 2
  last = done.stderr.strip().splitlines()[-1]
  assert last.startswith("kdgan_tf.export: error:") and "python -m kdgan_tf.train" in last
  with pytest.raises(UserError, match="--quantize='int4'"):
    quantize.parse_variants("int4")
  assert quantize.parse_variants("int8,none") == ("none", "int8")
  assert quantize.parse_variants("all") == quantize.VARIANTS


def test_feature_vector_model_gets_its_own_signature_and_p_at_3(tmp_path):
  """Tag-style classifiers take feature vectors [D]: the signature and the int8 calibration
  follow the model's input spec, and the measure is the task's (P@3)."""
  keras.utils.set_random_seed(0)
  model = keras.Sequential([keras.Input([7]), keras.layers.Dense(16, activation="relu"),
                            keras.layers.Dense(5)])
  saved = tflite.export_classifier(model, str(tmp_path / "saved_model"))
  rng = np.random.RandomState(0)
  train, test = rng.rand(30, 7).astype(np.float32), rng.rand(12, 7).astype(np.float32)
  labels = (rng.rand(12, 5) < 0.4).astype(np.uint8)
  labels[labels.sum(1) == 0, 0] = 1
  report = quantize.export_variants(saved, str(tmp_path), ("none", "int8"), train, test, labels,
                                    tasks.MultiLabel(5), latency_runs=5)
  assert [r["variant"] for r in report["variants"]] == ["none", "int8"]
  assert all(0 <= r["P@3"] <= 1 for r in report["variants"])
  npy = str(tmp_path / "one.npy")
  np.save(npy, test[0])
  (name, ranked), = predict.predict(str(tmp_path / "classifier_int8.tflite"), [npy], top_k=3)
  assert name == npy and [label for label, _ in ranked][0] in [str(i) for i in range(5)]


def test_label_names_prefer_the_data_then_metadata_then_indices():
  splits = types.SimpleNamespace(label_names=["cat", "dog"], num_classes=2)
  assert run_dir.label_names(splits, ["x", "y"]) == ["cat", "dog"]
  splits.label_names = None
  assert run_dir.label_names(splits, ["x", "y"]) == ["x", "y"]
  assert run_dir.label_names(splits, None) == ["0", "1"]
  assert run_dir.label_names(splits, ["only one"]) == ["0", "1"]


def test_png_channels_and_size_follow_the_model(tmp_path):
  rgb = np.zeros([40, 30, 3], np.uint8)
  rgb[..., 0] = 255
  path = _png(str(tmp_path / "red.png"), rgb)
  gray = predict.read_image(path, 28, 28, 1)
  assert gray.shape == (28, 28, 1) and 0 < gray.max() <= 1
  assert predict.read_image(path, 32, 32, 3).shape == (32, 32, 3)


def test_appendix_d_section_is_rendered_from_the_copied_table(tmp_path):
  """REPORT.md's Appendix D comes from results/appendix_d/<dataset>_n<n>/compression_table.json
  and names where it was measured; no file, no section."""
  import json  # pylint: disable=g-import-not-at-top
  from kdgan_tf.export.compression_table import report_lines  # pylint: disable=g-import-not-at-top
  assert report_lines(str(tmp_path), "mnist") == []
  folder = tmp_path / "mnist_n100"
  folder.mkdir()
  rows = [{"role": "C (deployed)", "parameters": 1000, "float32_bytes": 4_000_000,
           "int8_bytes": 1_000_000, "float32_latency_ms": 0.5, "int8_latency_ms": 0.25,
           "keras_accuracy": 0.9, "int8_accuracy": 0.899}]
  (folder / "compression_table.json").write_text(json.dumps(
      {"metric": "accuracy", "num_threads": 1, "rows": rows,
       "measured": {"dataset": "mnist", "n": 100, "seed": 0, "method": "kdgan"}}))
  text = "\n".join(report_lines(str(tmp_path), "mnist"))
  assert "## Appendix D" in text and "n = 100" in text and "seed 0" in text
  assert "| C (deployed) | 1,000 | 4.000 | 1.000 | 0.500 | 0.250 | 0.9000 | 0.8990 |" in text
  assert report_lines(str(tmp_path), "cifar10") == []
