"""Every method runs through the one shared loop; pretrained players are cached and reused."""
import json
import os

import gin
import h5py
import numpy as np
import pytest

from conftest import TINY_GIN
from kdgan_tf import experiment
from kdgan_tf.errors import UserError
from kdgan_tf.models import mlp_classifier
from kdgan_tf.train import parse_config
from kdgan_tf.trainers import METHODS
from kdgan_tf.trainers.pretrain_cache import cache_key

GIN_FILES = {"supervised_c": "supervised_c.gin", "supervised_t": "supervised_t.gin",
             "mimic": "mimic.gin", "distn": "distn.gin", "noisy": "noisy.gin",
             "codis": "codis.gin", "nagan": "nagan.gin", "kdgan_wo_gm": "kdgan_wo_gm.gin",
             "kdgan": "kdgan.gin"}


def _run(model_dir, npz, gin_file, *bindings):
  gin.clear_config()
  try:
    parse_config([TINY_GIN, gin_file], [
        f"load_image_classification.original_order_npz = '{npz}'",
        "run_experiment.game_epochs = 1", *bindings])
    return experiment.run_experiment(str(model_dir), log=lambda message: None)
  finally:
    gin.clear_config()


GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "tiny_methods.json")


def _golden_view(record):
  """What a run computes (not how long it took): the numbers the golden file pins."""
  strip = lambda d: {k: v for k, v in d.items() if "seconds" not in k}
  return {"game_epochs": [strip(e) for e in record["game"]["epochs"]],
          "pretrained": strip(record["game"]["pretrained"]),
          "pretrain": {p: {"val_accuracy": i["val_accuracy"], "test_accuracy": i["test_accuracy"]}
                       for p, i in sorted(record["pretrain"].items())}}


def _assert_matches_golden(method, record):
  """A refactor must not change what a run computes: every number of the golden file (written
  by `KDGAN_WRITE_GOLDEN=1 pytest tests/test_methods.py` from the code before a redesign) must
  come back. New keys are allowed (new logged quantities); changed or lost ones are not. The
  tolerance only absorbs float round-off across CPUs (identical on one machine)."""
  view = _golden_view(record)
  if os.environ.get("KDGAN_WRITE_GOLDEN"):
    golden = json.load(open(GOLDEN)) if os.path.exists(GOLDEN) else {}
    golden[method] = view
    with open(GOLDEN, "w") as f:
      json.dump(golden, f, indent=1, sort_keys=True)
    return
  expected = json.load(open(GOLDEN))[method]

  def compare(want, got, where):
    if isinstance(want, dict):
      for key, value in want.items():
        assert key in got, f"{where}.{key} is no longer computed"
        compare(value, got[key], f"{where}.{key}")
    elif isinstance(want, list):
      assert len(want) == len(got), where
      for i, (w, g) in enumerate(zip(want, got)):
        compare(w, g, f"{where}[{i}]")
    elif isinstance(want, float):
      assert g_close(want, got), f"{where}: golden {want}, now {got}"
    else:
      assert want == got, f"{where}: golden {want!r}, now {got!r}"

  compare(expected, view, method)


def g_close(want, got):
  return got is not None and abs(want - got) <= 1e-6 + 1e-5 * abs(want)


def _h5_arrays(path):
  arrays = []
  with h5py.File(path, "r") as f:
    f.visititems(lambda name, obj: arrays.append(np.array(obj))
                 if isinstance(obj, h5py.Dataset) else None)
  return arrays


def test_every_method_has_a_gin_file():
  assert set(GIN_FILES) == set(METHODS)


@pytest.fixture(scope="module")
def method_runs(tmp_path_factory, tiny_npz):
  """Every method trained once, in name order, in one folder (so they share one pretraining
  cache beside them): {method: (run folder, record or the exception it raised)}. A fixture,
  not the tests' side effect, so each test below stands alone in any order or process."""
  runs_dir = tmp_path_factory.mktemp("methods")
  runs = {}
  for method in sorted(GIN_FILES):
    try:
      runs[method] = (runs_dir / method, _run(runs_dir / method, tiny_npz, GIN_FILES[method]))
    except Exception as e:  # pylint: disable=broad-except  (reported by that method's test)
      runs[method] = (runs_dir / method, e)
  return runs


@pytest.mark.parametrize("method", sorted(GIN_FILES))
def test_method_trains_its_player_and_writes_its_outputs(method, method_runs):
  model_dir, record = method_runs[method]
  if isinstance(record, Exception):
    raise record
  assert record["finished"] and record["method"] == method
  player = METHODS[method]().selected_player
  assert record["selected_player"] == player
  # The game moved the selected player away from its pretrained weights.
  before = _h5_arrays(model_dir / "weights" / f"pretrained_{player}.weights.h5")
  after = _h5_arrays(model_dir / "weights" / f"best_{player}.weights.h5")
  assert len(before) == len(after) > 0
  assert any(not np.array_equal(a, b) for a, b in zip(before, after))
  # Every logged loss and accuracy is finite.
  (epoch,) = record["game"]["epochs"]
  losses = {k: v for k, v in epoch.items() if k not in ("epoch", "tau")}
  assert len(losses) >= 4 and all(v is not None and np.isfinite(v) for v in losses.values())
  prefix = "c" if player == "classifier" else "t"
  assert record["game"]["selected"]["test_accuracy"] == epoch[f"{prefix}_test_accuracy"]
  for name in ("metrics.json", "config.gin", "operative_config.gin", "checkpoints/checkpoint"):
    assert (model_dir / name).exists(), name
  exported = (model_dir / "classifier.tflite").exists()
  assert exported == (player == "classifier")
  with open(model_dir / "operative_config.gin") as f:
    assert f"run_experiment.method = @{METHODS[method].__name__}()" in f.read()
  _assert_matches_golden(method, record)


def test_each_player_was_pretrained_once_for_all_methods(method_runs):
  """Across the method runs (same data and seed), each player was pretrained by the first run
  that needed it and loaded from the cache by every later one."""
  records = [record for _, record in method_runs.values()]
  assert not [r for r in records if isinstance(r, Exception)], "a method run failed"
  for player in ("classifier", "teacher", "discriminator"):
    infos = [r["pretrain"][player] for r in records if player in r["pretrain"]]
    pretrained = [i for i in infos if "cached_from" not in i]
    assert len(pretrained) == 1 and len(infos) >= 3, player
    assert len({i["cache_key"] for i in infos}) == 1, player


def test_cached_players_give_the_same_game_as_fresh_pretraining(tmp_path, tiny_npz):
  fresh = _run(tmp_path / "fresh", tiny_npz, "kdgan.gin",
               "run_experiment.pretrain_cache_dir = None")
  _run(tmp_path / "fill", tiny_npz, "supervised_t.gin")  # publishes T only
  cached = _run(tmp_path / "cached", tiny_npz, "kdgan.gin")
  assert "cached_from" in cached["pretrain"]["teacher"]
  assert "cached_from" not in cached["pretrain"]["classifier"]
  strip = lambda entries: [{k: v for k, v in e.items() if "seconds" not in k} for e in entries]
  assert strip(cached["game"]["epochs"]) == strip(fresh["game"]["epochs"])
  assert cached["game"]["pretrained"] == fresh["game"]["pretrained"]


def test_cache_key_changes_with_data_seed_architecture_and_settings():
  import keras  # pylint: disable=g-import-not-at-top
  settings = {"pretrain_epochs": 2, "pretrain_batch_size": 10}
  model = mlp_classifier((4, 4, 1), 3, hidden_units=(5,))
  keras.layers.Dense(2)  # shift Keras' automatic layer numbering: names must not matter
  same = mlp_classifier((4, 4, 1), 3, hidden_units=(5,))
  assert [l.name for l in model.layers] != [l.name for l in same.layers]
  _, key = cache_key("classifier", model, 0, "data-a", settings)
  assert cache_key("classifier", same, 0, "data-a", settings)[1] == key
  assert cache_key("classifier", model, 1, "data-a", settings)[1] != key
  assert cache_key("classifier", model, 0, "data-b", settings)[1] != key
  assert cache_key("teacher", model, 0, "data-a", settings)[1] != key
  assert cache_key("classifier", model, 0, "data-a", dict(settings, pretrain_epochs=3))[1] != key
  wider = mlp_classifier((4, 4, 1), 3, hidden_units=(6,))
  assert cache_key("classifier", wider, 0, "data-a", settings)[1] != key
  regularised = mlp_classifier((4, 4, 1), 3, hidden_units=(5,), weight_decay=1e-3)
  assert cache_key("classifier", regularised, 0, "data-a", settings)[1] != key


def test_another_n_pretrains_again(tmp_path, tiny_npz):
  first = _run(tmp_path / "n40", tiny_npz, "supervised_c.gin")
  other = _run(tmp_path / "n30", tiny_npz, "supervised_c.gin", "load_image_classification.n = 30")
  assert first["pretrain"]["classifier"]["cache_key"] != other["pretrain"]["classifier"][
      "cache_key"]
  assert "cached_from" not in other["pretrain"]["classifier"]


@pytest.mark.parametrize("make,match", [
    (lambda: METHODS["distn"](soft_weight=1.5), "soft_weight"),
    (lambda: METHODS["distn"](temperature=0.0), "temperature"),
    (lambda: METHODS["mimic"](hard_weight=-0.1), "hard_weight"),
    (lambda: METHODS["noisy"](dropout_ratio=1.0), "dropout_ratio"),
    (lambda: METHODS["codis"](temperature=-1.0), "temperature"),
    (lambda: METHODS["nagan"](d_passes=-1), "d_passes"),
    (lambda: METHODS["supervised_c"](passes=-2), "passes"),
    (lambda: METHODS["kdgan_wo_gm"](alpha=2.0), "alpha"),
])
def test_bad_method_settings_fail_with_a_message(make, match):
  with pytest.raises(UserError, match=match):
    make()


def test_augmented_pretraining_is_shared_across_methods_but_not_across_augmentations(
    tmp_path, tiny_npz):
  augmented = ["run_experiment.augment = True",
               "classifier/player_settings.pretrain_augment = True"]
  first = _run(tmp_path / "sup", tiny_npz, "supervised_c.gin", *augmented)
  second = _run(tmp_path / "mimic", tiny_npz, "mimic.gin", *augmented)
  assert second["pretrain"]["classifier"]["cache_key"] == first["pretrain"]["classifier"][
      "cache_key"]
  assert "cached_from" in second["pretrain"]["classifier"]
  other = _run(tmp_path / "rot", tiny_npz, "supervised_c.gin", *augmented,
               "random_affine.rotation_degrees = 5.0")
  assert "cached_from" not in other["pretrain"]["classifier"]
  # A player's own pretraining augmentation: the same function as the run's shares its entry;
  # another one (with the game unaugmented) is applied and keyed apart.
  own = _run(tmp_path / "own", tiny_npz, "supervised_c.gin",
             "classifier/player_settings.pretrain_augmentation = @random_affine")
  assert own["pretrain"]["classifier"]["cache_key"] == first["pretrain"]["classifier"][
      "cache_key"]
  mirrored = _run(tmp_path / "mirrored", tiny_npz, "supervised_c.gin",
                  "classifier/player_settings.pretrain_augmentation = @mirror")
  plain = _run(tmp_path / "plain", tiny_npz, "supervised_c.gin")
  keys = {r["pretrain"]["classifier"]["cache_key"] for r in (first, mirrored, plain)}
  assert len(keys) == 3
  losses = lambda r: [c["loss"] for c in r["pretrain"]["classifier"]["curve"]]
  assert losses(mirrored) != losses(plain)


def test_gradient_variance_probe_measures_without_changing_the_run(tmp_path, tiny_npz):
  plain = _run(tmp_path / "plain", tiny_npz, "kdgan.gin", "run_experiment.game_epochs = 2")
  probed = _run(tmp_path / "probed", tiny_npz, "kdgan.gin", "run_experiment.game_epochs = 2",
                "run_experiment.epoch_probe = @gradient_variance_probe",
                "gradient_variance_probe.num_batches = 4")
  keys = ("var_grad_d_concrete_pathwise", "var_grad_d_reinforce", "var_grad_t")
  keys += tuple("sqmean" + k[len("var"):] for k in keys)
  for entry in probed["game"]["epochs"]:
    assert all(entry[k] > 0 and np.isfinite(entry[k]) for k in keys)
  strip = lambda entries: [{k: v for k, v in e.items() if "seconds" not in k
                            and "_grad_" not in k} for e in entries]
  assert strip(probed["game"]["epochs"]) == strip(plain["game"]["epochs"])


def test_discriminator_scores_probe_measures_without_changing_the_run(tmp_path, tiny_npz):
  plain = _run(tmp_path / "plain", tiny_npz, "nagan.gin", "run_experiment.game_epochs = 2")
  probed = _run(tmp_path / "probed", tiny_npz, "nagan.gin", "run_experiment.game_epochs = 2",
                "run_experiment.epoch_probe = @discriminator_scores_probe")
  keys = ("d_true_score", "d_top_wrong_score", "d_wrong_above_true", "c_true_mass",
          "c_top_label_share")
  for entry in probed["game"]["epochs"]:
    assert all(0.0 <= entry[k] <= 1.0 for k in keys)
  strip = lambda entries: [{k: v for k, v in e.items() if "seconds" not in k
                            and k not in keys} for e in entries]
  assert strip(probed["game"]["epochs"]) == strip(plain["game"]["epochs"])


def test_a_probe_that_cannot_take_the_call_fails_before_training(tmp_path, tiny_npz):
  def probe_without_labels(models, images, tau, seed, epoch):
    del models, images, tau, seed, epoch
    return {}

  gin.clear_config()
  try:
    parse_config([TINY_GIN, "kdgan.gin"],
                 [f"load_image_classification.original_order_npz = '{tiny_npz}'"])
    with pytest.raises(UserError, match=r"probe_without_labels.*labels=None"):
      experiment.run_experiment(str(tmp_path / "run"), log=lambda message: None,
                                epoch_probe=probe_without_labels)
  finally:
    gin.clear_config()
  assert not list(tmp_path.rglob("metrics.json"))
  assert not list(tmp_path.rglob("*.weights.h5"))


def test_check_probe_accepts_the_shipped_probes_and_keyword_catchalls():
  from kdgan_tf import probes  # pylint: disable=g-import-not-at-top
  probes.check_probe(probes.gradient_variance_probe)
  probes.check_probe(probes.discriminator_scores_probe)
  probes.check_probe(lambda models, images, tau, seed, epoch, **unused: {})
  with pytest.raises(UserError, match="missing a required argument"):
    probes.check_probe(lambda models, images, tau, seed, epoch, labels, extra: {})


def test_discriminator_scores_by_hand():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from kdgan_tf.probes import discriminator_scores  # pylint: disable=g-import-not-at-top
  # D's logits 0 -> p_d 0.5; ln 3 -> 0.75; -ln 3 -> 0.25. Labels 0 and 1.
  ln3 = float(np.log(3.0))
  d_logits = tf.constant([[ln3, 0.0, -ln3], [ln3, -ln3, 0.0]])
  # C's softmax: 9/13, 3/13, 1/13 and 3/5, 1/5, 1/5.
  c_logits = tf.constant([[ln3, 0.0, -ln3], [ln3, 0.0, 0.0]])
  out = discriminator_scores(d_logits, c_logits, tf.constant([0, 1]))
  assert out["d_true_score"] == pytest.approx((0.75 + 0.25) / 2)
  assert out["d_top_wrong_score"] == pytest.approx((0.5 + 0.75) / 2)
  assert out["d_wrong_above_true"] == pytest.approx(0.5)  # only the second image
  assert out["c_true_mass"] == pytest.approx((9 / 13 + 1 / 5) / 2, rel=1e-5)
  assert out["c_top_label_share"] == pytest.approx(1.0)  # argmax is label 0 on both images


def test_probe_variance_is_zero_without_noise_and_positive_with_it():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from kdgan_tf.models import lenet  # pylint: disable=g-import-not-at-top
  from kdgan_tf.probes import gradient_variance_probe  # pylint: disable=g-import-not-at-top
  models = {"classifier": mlp_classifier((8, 8, 1), 3, hidden_units=(4,)),
            "teacher": lenet((8, 8, 1), 3, filters=(2, 2), dense_units=4)}
  images = tf.random.stateless_uniform([6, 8, 8, 1], [1, 2])
  # Every mini-batch is the whole (permuted) data: the distillation gradient cannot vary.
  whole = gradient_variance_probe(models, images, tf.constant(1.0), 0, 1, num_batches=5,
                                  batch_size=6)
  halves = gradient_variance_probe(models, images, tf.constant(1.0), 0, 1, num_batches=5,
                                   batch_size=2)
  assert set(whole) == {"var_grad_t", "sqmean_grad_t"} and halves["var_grad_t"] > 0
  # Zero up to float32 rounding of E[g^2] - E[g]^2.
  assert whole["var_grad_t"] < 1e-3 * halves["var_grad_t"]
  # The squared mean is the full-batch gradient's mean square, computed here by hand.
  c, t = models["classifier"], models["teacher"]
  with tf.GradientTape() as tape:
    diff = c(images, training=False) - t(images, training=False)
    loss = tf.reduce_mean(0.5 * tf.reduce_sum(tf.square(diff), axis=-1))  # l2_logits
  flat = tf.concat([tf.reshape(g, [-1]) for g in tape.gradient(loss, c.trainable_variables)], 0)
  assert whole["sqmean_grad_t"] == pytest.approx(float(tf.reduce_mean(tf.square(flat))),
                                                 rel=1e-4)
