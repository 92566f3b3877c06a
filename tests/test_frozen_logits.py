"""Frozen players' logits from tables (trainers/frozen_logits.py) equal the per-step forward."""
import threading

import gin
import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_GIN
from kdgan_tf import experiment
from kdgan_tf.data import augment
from kdgan_tf.train import parse_config
from kdgan_tf.trainers import frozen_logits as frozen_lib
from kdgan_tf.trainers.base import GamePhase
from kdgan_tf.trainers.base import StepContext


def test_mirror_has_two_forms_drawn_exactly_as_mirror_draws_them():
  images = tf.random.stateless_uniform([16, 6, 5, 3], seed=[1, 2])
  seed = tf.constant([3, 4], tf.int64)
  variants = augment.finite_variants(augment.mirror)
  assert variants.count == 2
  forms = variants.ids(images, seed)
  assert 0 < int(tf.reduce_sum(forms)) < 16  # both forms occur in this batch
  by_form = tf.where(forms[:, None, None, None] == 1, variants.apply(images, 1),
                     variants.apply(images, 0))
  np.testing.assert_array_equal(augment.mirror(images, seed).numpy(), by_form.numpy())
  np.testing.assert_array_equal(variants.apply(images, 1).numpy(), images.numpy()[:, :, ::-1])


def test_only_augmentations_with_few_forms_are_tabled():
  assert augment.finite_variants(augment.no_augment).count == 1
  assert augment.finite_variants(augment.random_affine) is None
  assert augment.finite_variants(augment.pad_crop_flip) is None


def test_a_phase_updates_the_player_it_is_named_after_unless_it_says_otherwise():
  assert frozen_lib.phase_updates(GamePhase("teacher", 1, None)) == ("teacher",)
  assert frozen_lib.phase_updates(GamePhase("codistill", 1, None, ("classifier", "teacher"))) \
      == ("classifier", "teacher")


def _phases(*spec):
  return [GamePhase(name, passes, None, updates) for name, passes, updates in spec]


def test_a_player_is_tabled_where_one_refresh_costs_less_than_its_per_step_forwards():
  kdgan = lambda d, t, c: _phases(("discriminator", d, None), ("teacher", t, None),
                                  ("classifier", c, None))
  players = ("classifier", "teacher", "discriminator")
  # 5, 2, 2 passes, mirrored (2 forms): C's run D+T = 7, T's run C+D (across epochs) = 7,
  # D's run T+C = 4 passes, all above 2 forward passes per refresh.
  assert frozen_lib.table_plan(kdgan(5, 2, 2), players, 2) == [
      {"classifier", "teacher"}, {"classifier", "discriminator"}, {"discriminator", "teacher"}]
  # 1, 1, 1 passes: every run has 2 passes, so mirrored (2) nothing is tabled, unaugmented all
  assert frozen_lib.table_plan(kdgan(1, 1, 1), players, 2) == [set(), set(), set()]
  assert frozen_lib.table_plan(kdgan(1, 1, 1), players, 1) == [
      {"classifier", "teacher"}, {"classifier", "discriminator"}, {"discriminator", "teacher"}]
  # D's phase off (0 passes) does not count as updating D: D is then never updated
  assert "discriminator" in frozen_lib.table_plan(kdgan(0, 1, 1), players, 2)[1]
  # DISTN: T is never updated, tabled even at one pass per epoch (filled once per game)
  assert frozen_lib.table_plan(_phases(("classifier", 1, None)), ("classifier", "teacher"),
                               2) == [{"teacher"}]
  # CODIS updates both players in its one phase: nothing to table
  assert frozen_lib.table_plan(_phases(("codistill", 4, ("classifier", "teacher"))),
                               ("classifier", "teacher"), 1) == [set()]


def _run(model_dir, npz, method_gin, *bindings):
  gin.clear_config()
  try:
    parse_config([TINY_GIN, method_gin], [
        f"load_image_classification.original_order_npz = '{npz}'",
        "run_experiment.augment = True", "run_experiment.augmentation = @mirror",
        "run_experiment.export = False", "run_experiment.pretrain_cache_dir = None", *bindings])
    return experiment.run_experiment(str(model_dir), log=lambda message: None)
  finally:
    gin.clear_config()


PASSES = ("KDGAN.d_passes = 3", "KDGAN.t_passes = 2", "KDGAN.c_passes = 2")  # all tabled


def _counting_refreshes(run):
  """run() with FrozenLogits.refresh counting the tables it fills; returns (result, counts)."""
  counts, original = [], frozen_lib.FrozenLogits.refresh

  def counting(self, frozen):
    before = self.refreshes
    original(self, frozen)
    counts.append(self.refreshes - before)

  frozen_lib.FrozenLogits.refresh = counting
  try:
    return run(), sum(counts)
  finally:
    frozen_lib.FrozenLogits.refresh = original


@pytest.fixture(scope="module")
def kdgan_pair(tmp_path_factory, tiny_npz):
  """The same mirrored 3-epoch KDGAN run with tables (and the tables it filled) and with a
  forward pass on every step."""
  root = tmp_path_factory.mktemp("frozen")
  run = lambda tabled: _run(root / str(tabled), tiny_npz, "kdgan.gin", *PASSES,
                            "run_experiment.game_epochs = 3",
                            f"run_experiment.frozen_logits = {tabled}")
  tabled, refreshes = _counting_refreshes(lambda: run(True))
  return {True: tabled, False: run(False), "refreshes": refreshes}


def test_kdgan_with_tables_computes_what_the_per_step_forward_computes(kdgan_pair):
  tabled, direct = kdgan_pair[True], kdgan_pair[False]
  assert tabled["tabled_logits"] == {"discriminator": ["classifier", "teacher"],
                                     "teacher": ["classifier", "discriminator"],
                                     "classifier": ["discriminator", "teacher"]}
  assert direct["tabled_logits"] == {"discriminator": [], "teacher": [], "classifier": []}
  for mine, theirs in zip(tabled["game"]["epochs"], direct["game"]["epochs"]):
    for key in ("d_loss", "d_true_mass", "t_adversarial", "c_adversarial", "c_distill",
                "t_distill", "c_val_accuracy"):
      assert mine[key] == pytest.approx(theirs[key], rel=1e-3, abs=1e-4), key


def test_tables_are_recomputed_only_when_a_phase_updated_their_player(kdgan_pair, tmp_path,
                                                                     tiny_npz):
  """KDGAN: epoch 1 fills C and T (D's phase), D (T's), T again (C's); every later epoch C, D,
  T once each. DISTN: T never changes, so its table is filled once for the whole game."""
  assert kdgan_pair["refreshes"] == 4 + 3 + 3
  _, distn = _counting_refreshes(lambda: _run(tmp_path / "distn", tiny_npz, "distn.gin",
                                              "run_experiment.game_epochs = 3"))
  assert distn == 1


class _SevensTable:
  """A stand-in FrozenLogits whose stored logits are all 7 (a forward pass never gives that)."""
  tables = {"teacher": None, "classifier": None}

  def forms(self, images, seed):
    return tf.zeros([2], tf.int32)

  def lookup(self, player, batch):
    return tf.fill([2, 3], 7.0)


def _context_with_sevens(model):
  """A StepContext whose C and T are `model`, reading tables from _SevensTable."""
  return StepContext({"teacher": model, "classifier": model}, {}, None,
                     type("Task", (), {"num_classes": 3})(), 2, augment.no_augment,
                     {"teacher": ("image",), "classifier": ("image",)}, _SevensTable())


def test_a_step_reads_the_table_only_for_players_its_phase_does_not_update():
  model = tf.keras.Sequential([tf.keras.Input((2, 2, 1)), tf.keras.layers.Flatten(),
                               tf.keras.layers.Dense(3)])
  features = {"image": tf.ones([2, 2, 2, 1]), frozen_lib.INDEX_KEY: tf.constant([1, 0])}
  ctx = _context_with_sevens(model)
  seen = {}

  def step(f, labels, seed):
    x = ctx.augment(f, seed)
    seen["teacher"] = ctx.call("teacher", x, training=False)
    seen["classifier"] = ctx.call("classifier", x, training=False)
    seen["classifier_training"] = ctx.call("classifier", x, training=True)
    return {}

  ctx.phase_step(GamePhase("classifier", 1, step), tabled=("teacher", "classifier"))(
      features, None, tf.constant([0, 0]))
  assert float(seen["teacher"][0, 0]) == 7.0  # frozen in this phase: from the table
  assert float(seen["classifier"][0, 0]) != 7.0  # updated by this phase: its own forward
  assert float(seen["classifier_training"][0, 0]) != 7.0
  assert ctx.call("teacher", ctx.augment(features, None), training=False)[0, 0] != 7.0


def test_the_split_is_copied_only_for_the_players_a_refresh_fills():
  """A run whose plan tables nothing never turns its training split into a tensor (CIFAR-10's
  45,000 images are 550 MB); a refresh copies only the views of the players it fills."""
  teacher = tf.keras.Sequential([tf.keras.Input((2, 2, 1)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(3)])
  classifier = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3)])
  split = type("Split", (), {"views": {"image": np.ones([5, 2, 2, 1], np.float32),
                                       "text": np.ones([5, 4], np.float32)},
                             "__len__": lambda self: 5})()
  frozen = frozen_lib.FrozenLogits(
      tf.distribute.get_strategy(), split, {"teacher": teacher, "classifier": classifier},
      {"teacher": ("image",), "classifier": ("text",)}, 3,
      augment.finite_variants(augment.no_augment), eval_batch_size=2)
  assert not frozen._inputs  # pylint: disable=protected-access
  frozen.refresh(["classifier"])
  assert set(frozen._inputs) == {"text"}  # pylint: disable=protected-access
  np.testing.assert_allclose(frozen.tables["classifier"].numpy()[:, 0],
                             classifier(split.views["text"]).numpy(), rtol=1e-6)
  assert frozen.stale == {"teacher"}


def test_each_tracing_thread_reads_the_tables_of_its_own_phase():
  """MirroredStrategy traces each replica's step in its own thread: replica A's phase (tables
  for T) must still read T's table after replica B entered another phase (no tables) and
  before B left it."""
  model = tf.keras.Sequential([tf.keras.Input((2, 2, 1)), tf.keras.layers.Flatten(),
                               tf.keras.layers.Dense(3)])
  ctx = _context_with_sevens(model)
  features = {"image": tf.ones([2, 2, 2, 1]), frozen_lib.INDEX_KEY: tf.constant([1, 0]),
              frozen_lib.FORM_KEY: tf.zeros([2], tf.int32)}
  a_entered, b_entered, b_may_leave = threading.Event(), threading.Event(), threading.Event()
  seen = {}

  def step_a(f, labels, seed):
    a_entered.set()
    b_entered.wait(10)
    seen["a"] = float(ctx.call("teacher", f, training=False)[0, 0])
    b_may_leave.set()
    return {}

  def step_b(f, labels, seed):
    a_entered.wait(10)
    b_entered.set()
    b_may_leave.wait(10)
    seen["b"] = float(ctx.call("teacher", f, training=False)[0, 0])
    return {}

  threads = [
      threading.Thread(target=ctx.phase_step(GamePhase("classifier", 1, step_a),
                                             tabled=("teacher",)), args=(features, None, None)),
      threading.Thread(target=ctx.phase_step(GamePhase("teacher", 1, step_b),
                                             tabled=("teacher",)), args=(features, None, None))]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join(20)
  assert seen["a"] == 7.0  # A's phase does not update T: from the table
  assert seen["b"] != 7.0  # B's phase updates T: its own forward
