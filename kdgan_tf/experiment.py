"""One experiment = one gin-configurable function with explicit keyword defaults.

Everything a run needs is a parameter here or of a configurable it references; gin files bind
them (see gin_configs/mnist.gin) and the parsed and operative configs are written to model_dir.
"""
import os
import time

import gin
import keras
import tensorflow as tf

from kdgan_tf import export as export_lib
from kdgan_tf import outputs
from kdgan_tf.data.augment import random_affine
from kdgan_tf.data.image_classification import load_image_classification
from kdgan_tf.models import lenet, mlp_classifier
from kdgan_tf.schedules import exponential_tau
from kdgan_tf.trainers import KDGAN
from kdgan_tf.trainers.loop import Runner


def _identity_augment(images, seed):
  del seed
  return images


def write_operative_config(model_dir):
  """gin only records what has been called, so this is refreshed as the run proceeds."""
  outputs.atomic_write_text(os.path.join(model_dir, "operative_config.gin"),
                            gin.operative_config_str())


@gin.configurable(denylist=["model_dir", "strategy"])
def run_experiment(model_dir, strategy=None, method=None,
                   dataset_fn=load_image_classification, classifier_builder=mlp_classifier,
                   teacher_builder=lenet, discriminator_builder=lenet, seed=0, batch_size=10,
                   eval_batch_size=1000, game_epochs=30, tau_schedule=exponential_tau,
                   augment=False, deterministic=True, export=True, init_from=None, log=print):
  """Trains (or resumes) one run in `model_dir` and returns its metrics record.

  Args:
    model_dir: output folder (created); rerunning with the same folder resumes.
    strategy: a tf.distribute.Strategy (None: the default strategy).
    method: a `trainers.Method` instance, e.g. `@KDGAN()` in gin (None: KDGAN()).
    dataset_fn: returns `data.DataSplits` (train subset, validation, test).
    classifier_builder, teacher_builder, discriminator_builder: Keras model builders taking
      (input_shape, num_classes, name).
    seed: the one seed of model initialisation, batch order, sampling and augmentation
      (the training subset has its own `subset_seed` in the dataset function).
    batch_size: global batch size of the game (and of pretraining unless overridden per player).
    eval_batch_size: batch size of validation and test evaluation.
    game_epochs: number of epochs of the method's game after pretraining.
    tau_schedule: function epoch -> concrete temperature tau.
    augment: random affine augmentation in every training step (authors' KD/GAN phases).
    deterministic: TF op determinism, so two runs with the same seed give identical metrics.
    export: write the SavedModel and TF Lite classifier at the end.
    init_from: optional model_dir of a finished pretraining with the same data, players and
      seed; its best pretrained weights are loaded instead of pretraining again.
  """
  os.makedirs(model_dir, exist_ok=True)
  outputs.atomic_write_text(os.path.join(model_dir, "config.gin"), gin.config_str())
  strategy = strategy or tf.distribute.get_strategy()
  keras.utils.set_random_seed(seed)
  if deterministic:
    tf.config.experimental.enable_op_determinism()
  method = method if method is not None else KDGAN()
  splits = dataset_fn()
  builders = {"classifier": classifier_builder, "teacher": teacher_builder,
              "discriminator": discriminator_builder}
  runner = Runner(model_dir, method, splits, builders, strategy, seed, batch_size,
                  eval_batch_size, game_epochs, tau_schedule,
                  random_affine if augment else _identity_augment, init_from=init_from,
                  log=log)
  record = runner.record
  if record.get("finished"):
    log(f"{model_dir} holds a finished run; nothing to do (use a new --model_dir to rerun).")
    return record
  record.update(method=method.name, seed=seed, n=len(splits.y_train),
                validation_size=len(splits.y_val), test_size=len(splits.y_test),
                batch_size=batch_size, game_epochs=game_epochs, augment=augment,
                strategy=type(strategy).__name__, replicas=strategy.num_replicas_in_sync,
                tensorflow=tf.__version__)
  started = time.time()
  runner.run()
  write_operative_config(model_dir)
  if export and "classifier" in runner.models:
    record["export"] = export_and_check(runner.models["classifier"], model_dir, splits.x_test)
    log(f"exported {record['export']['saved_model']} and {record['export']['tflite']}: TF Lite "
        f"agrees with Keras on {100 * record['export']['tflite_agreement']:.2f}% of the test set")
  record["finished"] = True
  record.setdefault("timing", {})["seconds_total_last_invocation"] = time.time() - started
  outputs.write_json(os.path.join(model_dir, "metrics.json"), record)
  return record


def export_and_check(classifier, model_dir, images):
  """SavedModel + TF Lite of the selected classifier, and their agreement with Keras."""
  saved = export_lib.export_classifier(classifier, os.path.join(model_dir, "saved_model"))
  tflite = export_lib.convert_to_tflite(saved, os.path.join(model_dir, "classifier.tflite"))
  agreement, max_diff = export_lib.tflite_agreement(tflite, classifier, images)
  if agreement < 0.999:
    raise RuntimeError(f"TF Lite agrees with Keras on only {agreement:.4%} of the test images "
                       "(< 99.9%): the export is broken; do not deploy it.")
  return {"saved_model": "saved_model", "tflite": "classifier.tflite",
          "signature": export_lib.tflite.SIGNATURE, "tflite_agreement": agreement,
          "tflite_max_abs_probability_diff": max_diff, "checked_on": f"{len(images)} test images"}
