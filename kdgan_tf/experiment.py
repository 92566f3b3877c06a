"""One experiment = one gin-configurable function with explicit keyword defaults.

Everything a run needs is a parameter here or of a configurable it references; gin files bind
them (see gin_configs/mnist.gin) and the parsed and operative configs are written to model_dir.
"""
import hashlib
import os
import shutil
import time

import gin
import keras
import numpy as np
import tensorflow as tf

from kdgan_tf import distribute
from kdgan_tf import export as export_lib
from kdgan_tf import outputs
from kdgan_tf import tasks  # noqa: F401  (registers single_label_task, multi_label_task)
from kdgan_tf.data import corel5k, npz_dataset  # noqa: F401  (register their loaders)
from kdgan_tf.data import views as views_lib
from kdgan_tf.data.augment import mirror, no_augment, pad_crop_flip, random_affine  # noqa: F401
from kdgan_tf.data.image_classification import load_image_classification
from kdgan_tf.data.splits import fingerprint_arrays
from kdgan_tf.errors import ExportCheckError, UserError
from kdgan_tf.models import lenet, mlp_classifier
from kdgan_tf.models import cifar  # noqa: F401  (registers tutorial_cnn, preact_resnet)
from kdgan_tf.models.normalization import normalizing
from kdgan_tf.probes import gradient_variance_probe  # noqa: F401  (registers it with gin)
from kdgan_tf.schedules import exponential_tau
from kdgan_tf.trainers import KDGAN
from kdgan_tf.trainers.loop import Runner
from kdgan_tf.trainers.evaluation import EvaluationPolicy

try:  # registers @load_yfcc100m; tensorflow-datasets problems must not stop the other datasets
  from kdgan_tf.data import yfcc100m  # noqa: F401  pylint: disable=g-import-not-at-top
except ImportError:
  pass


def data_fingerprint(splits):
  """A short hash of the training subset and validation split, to tell runs on different data
  apart (e.g. before warm-starting from another run's pretrained players)."""
  digest = hashlib.sha1()
  for array in fingerprint_arrays(splits):
    digest.update(np.ascontiguousarray(array).tobytes())
  return digest.hexdigest()[:16]


def _check_config_unchanged(model_dir, write=True):
  """Resuming with other settings would silently mix two experiments in one folder. Only the
  chief writes the file (`write`); other workers only compare."""
  path = os.path.join(model_dir, "config.gin")
  config = gin.config_str()
  if os.path.exists(path):
    with open(path) as f:
      if f.read() != config:
        raise UserError(f"{model_dir} holds a run with a different configuration (see its "
                        "config.gin): resume it with the same gin files and bindings, or use a "
                        "new --model_dir.")
    return
  if write:
    outputs.atomic_write_text(path, config)


def _check_init_from(init_from, seed, fingerprint):
  """init_from must come from the same data and seed, or validation images could leak."""
  source = outputs.read_json(os.path.join(init_from, "metrics.json"), default=None)
  if source is None:
    raise UserError(f"init_from: {init_from} has no metrics.json; point it at the model_dir of "
                    "a run whose pretraining has finished.")
  for key, ours in (("seed", seed), ("data_fingerprint", fingerprint)):
    if key in source and source[key] != ours:
      raise UserError(f"init_from: {init_from} was trained with {key} = {source[key]}, this run "
                      f"has {ours}; warm-start only from a run with the same data and seed.")


MIN_TFLITE_AGREEMENT = 0.999


@gin.configurable(denylist=["model_dir", "strategy"])
def run_experiment(model_dir, strategy=None, method=None,
                   dataset_fn=load_image_classification, classifier_builder=mlp_classifier,
                   teacher_builder=lenet, discriminator_builder=lenet, seed=0, batch_size=10,
                   eval_batch_size=1000, game_epochs=30, tau_schedule=exponential_tau,
                   augment=False, deterministic=True, export=True, init_from=None,
                   pretrain_cache_dir="auto", partner_eval_every=5, eval_every=1,
                   evaluate_test="every_evaluation", train_eval_size=None, epoch_probe=None,
                   checkpoint_every_secs=60.0, keep_checkpoints=True, task=None,
                   player_views=None, augmentation=random_affine, input_normalization="none",
                   frozen_logits=True, log=print):
  """Trains (or resumes) one run in `model_dir` and returns its metrics record.

  Args:
    model_dir: output folder (created); rerunning with the same folder resumes.
    strategy: a tf.distribute.Strategy (None: the default strategy).
    method: a `trainers.Method` instance, e.g. `@KDGAN()` in gin (None: KDGAN()).
    dataset_fn: returns `data.DataSplits` (train subset, validation, test).
    classifier_builder, teacher_builder, discriminator_builder: Keras model builders taking
      (input_shape, num_classes, name): input_shape is the one view's shape, or {view: shape}
      for a player that reads several views, plus vocabulary_sizes={view: V} when a view holds
      token ids (kdgan_tf/data/views.py).
    seed: the one seed of model initialisation, batch order, sampling and augmentation
      (the training subset has its own `subset_seed` in the dataset function).
    batch_size: global batch size of the game (and of pretraining unless overridden per player).
    eval_batch_size: batch size of validation and test evaluation.
    game_epochs: number of epochs of the method's game after pretraining.
    tau_schedule: function epoch -> concrete temperature tau.
    augment: apply `augmentation` in every game step (the authors' KD/GAN phases); pretraining
      is augmented only where `<player>/player_settings.pretrain_augment` is set.
    augmentation: the augmentation (images, seed) -> images, run inside the compiled step:
      @random_affine (MNIST, authors), @mirror (paper's CIFAR-10), @pad_crop_flip (authors'
      CIFAR-10); see kdgan_tf/data/augment.py.
    input_normalization: "none", "per_pixel_mean" (paper's CIFAR-10; the mean of the n
      training images) or "per_image_standardization" (authors' CIFAR-10): the first layer of
      every image player, so the exported classifier takes raw pixels in [0, 1].
    deterministic: TF op determinism, so two runs with the same seed give identical metrics.
    export: write the SavedModel and TF Lite classifier at the end.
    init_from: optional model_dir of a finished pretraining with the same data, players and
      seed; its best pretrained weights are loaded instead of pretraining again.
    pretrain_cache_dir: where pretrained players are cached by (data, n, seed, architecture,
      pretraining settings), so that every method run beside this one starts from the same
      players without pretraining again. "auto": `<parent of model_dir>/pretrain_cache`;
      None or "": no cache.
    partner_eval_every: in the game, evaluate the players other than the selected one (T in
      KDGAN) every this many epochs and at the last epoch (the selected one: every epoch).
    eval_every: evaluate the players every this many game epochs (and at the last): the
      validation-selected epoch is chosen among those. 1 (every epoch) unless evaluation
      dominates the cost (CIFAR-10 at small n).
    evaluate_test: "every_evaluation", or "validation_improves": the test split only at game
      epochs where the selected player's validation measure improves (the epochs the honest
      protocol can select), at the last epoch and before the game. The authors' protocol (best
      test over the game) needs "every_evaluation".
    train_eval_size: evaluate the training-split diagnostic on this many training images (a
      fixed random subset); None: all n (45,000 images per evaluation at CIFAR-10 n = 50,000).
    epoch_probe: optional measurement after each game epoch's training, e.g.
      `@gradient_variance_probe` (kdgan_tf/probes.py, the data of Figure 7) or
      `@discriminator_scores_probe` (what D tells C; README "Why NaGAN collapses"). It is
      called as probe(models, images, tau, seed, epoch, labels=labels) and returns a dict.
    checkpoint_every_secs: write the resumable checkpoint at most this often (and at the end
      of every phase); a killed run redoes at most this much work, with identical results.
    keep_checkpoints: keep `checkpoints/` once the run has finished. Its outputs (weights/,
      saved_model/, metrics.json) do not need it; the Table 1 grid drops it (~300 MB a run).
    task: e.g. `@multi_label_task` (kdgan_tf/tasks.py), called with the number of classes; None
      infers it from the labels (class ids: single-label; multi-hot: multi-label tagging).
    player_views: {player: view names it reads}, e.g. {"classifier": ("image",), "teacher":
      ("image", "text")}; None: C reads "image", T and D every view (kdgan_tf/data/views.py).
    frozen_logits: where the game's augmentation has few forms (none, @mirror), compute the
      logits of the players a phase does not update once per phase for every training image in
      every form, instead of running them forward on every step (kdgan_tf/trainers/
      frozen_logits.py): the same values up to round-off, a cheaper game. False: per step.
  """
  strategy = strategy or tf.distribute.get_strategy()
  # Who writes model_dir: the chief only; other workers, a temporary folder (distribute.py).
  role = distribute.WorkerRole(strategy, model_dir)
  if role.chief:
    os.makedirs(model_dir, exist_ok=True)
  finished = outputs.read_json(os.path.join(model_dir, "metrics.json"), default=None)
  done = int(bool(finished and finished.get("finished")))
  if role.check_same(done, f"whether {model_dir} holds a finished run"):
    log(f"{model_dir} holds a finished run; nothing to do (use a new --model_dir to rerun).")
    return finished
  _check_config_unchanged(model_dir, write=role.chief)
  keras.utils.set_random_seed(seed)
  if deterministic:
    tf.config.experimental.enable_op_determinism()
  method = method if method is not None else KDGAN()
  splits = dataset_fn()
  fingerprint = data_fingerprint(splits)
  if init_from:
    _check_init_from(init_from, seed, fingerprint)
  builders = {"classifier": classifier_builder, "teacher": teacher_builder,
              "discriminator": discriminator_builder}
  if input_normalization not in (None, "none"):
    images = splits.train.views.get(views_lib.INFERENCE_VIEW)
    builders = {p: normalizing(b, input_normalization, images) for p, b in builders.items()}
  if pretrain_cache_dir == "auto":
    pretrain_cache_dir = os.path.join(os.path.dirname(os.path.abspath(model_dir)),
                                      "pretrain_cache")
  task = task(splits.num_classes) if task is not None else None
  runner = Runner(model_dir, method, splits, builders, strategy, seed, batch_size,
                  eval_batch_size, game_epochs, tau_schedule,
                  augmentation if augment else no_augment, init_from=init_from,
                  log=log, data_fingerprint=fingerprint,
                  pretrain_cache_dir=pretrain_cache_dir or None,
                  evaluation=EvaluationPolicy(eval_every, partner_eval_every, evaluate_test,
                                              train_eval_size),
                  epoch_probe=epoch_probe,
                  checkpoint_every_secs=checkpoint_every_secs, task=task,
                  player_views=player_views, role=role, frozen_logits=frozen_logits)
  record = runner.record
  record.update(method=method.name, selected_player=method.selected_player,
                dataset=splits.name, seed=seed, data_fingerprint=fingerprint,
                n=splits.requested_n or len(splits.train), train_size=len(splits.train),
                data_notes=splits.notes or None,
                validation_size=len(splits.val), test_size=len(splits.test),
                batch_size=batch_size, game_epochs=game_epochs, augment=augment,
                augmentation=getattr(augmentation, "__name__", None) if augment else None,
                input_normalization=input_normalization or "none",
                evaluation=runner.evaluation.describe(),
                task=runner.task.name, selection_metric=runner.task.selection_metric,
                player_views={p: list(v) for p, v in runner.views.items()},
                strategy=type(strategy).__name__, replicas=strategy.num_replicas_in_sync,
                tensorflow=tf.__version__)
  if role.multi_worker:
    record["workers"] = role.num_workers
  started = time.time()
  runner.run()
  if export and method.selected_player == "classifier":
    record["export"] = export_and_check(
        runner.models["classifier"], role.write_dir,  # every worker: Keras' predict is collective
        views_lib.as_numpy_inputs(splits.test, runner.views["classifier"]))
    if record["export"]["tflite_agreement"] < MIN_TFLITE_AGREEMENT:
      if role.chief:
        outputs.write_json(os.path.join(model_dir, "metrics.json"), record)
      raise ExportCheckError(
          f"TF Lite agrees with Keras on only {record['export']['tflite_agreement']:.4%} of the "
          f"test images (< {MIN_TFLITE_AGREEMENT:.1%}): the export in {model_dir} is broken, do "
          "not deploy it; the trained weights are in weights/best_classifier.weights.h5.")
    log(f"exported {record['export']['saved_model']} and {record['export']['tflite']}: TF Lite "
        f"agrees with Keras on {100 * record['export']['tflite_agreement']:.2f}% of the test set")
  record["finished"] = True
  record.setdefault("timing", {})["seconds_total_last_invocation"] = time.time() - started
  if role.chief:
    outputs.write_json(os.path.join(model_dir, "metrics.json"), record)
  if not keep_checkpoints:  # only after metrics.json says "finished": never lose a run
    shutil.rmtree(os.path.join(role.write_dir, "checkpoints"), ignore_errors=True)
  role.close()
  return record


def export_and_check(classifier, model_dir, images):
  """SavedModel + TF Lite of the selected classifier, and their agreement with Keras."""
  saved = export_lib.export_classifier(classifier, os.path.join(model_dir, "saved_model"))
  tflite = export_lib.convert_to_tflite(saved, os.path.join(model_dir, "classifier.tflite"))
  agreement, max_diff = export_lib.tflite_agreement(tflite, classifier, images)
  return {"saved_model": "saved_model", "tflite": "classifier.tflite",
          "signature": export_lib.tflite.SIGNATURE, "tflite_agreement": agreement,
          "tflite_max_abs_probability_diff": max_diff, "checked_on": f"{len(images)} test images"}
