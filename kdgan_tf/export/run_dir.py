"""A finished training run's model_dir, seen again from its own config.gin.

Why: the deployment commands (quantisation, the compression table) need the run's data splits,
the views each player reads, its task and its players' builders, exactly as training had them.
Re-parsing the run's `config.gin` with gin and calling the same dataset function and builders
gives them without copying any of that into the model_dir, and without hard-coding MNIST.
"""
import dataclasses
import inspect
import os

import gin

from kdgan_tf import outputs
from kdgan_tf.errors import UserError

SAVED_MODEL = "saved_model"
LABELS_FILE = "labels.txt"


@dataclasses.dataclass
class Run:
  """What the export commands need of one run (see `load_run`)."""
  model_dir: str
  record: dict  # metrics.json
  splits: object  # data.DataSplits
  views: dict  # {player: tuple of views}
  task: object  # tasks.SingleLabel / tasks.MultiLabel
  builders: dict  # {player: builder(input_shape, num_classes, name, ...)}
  settings: dict  # run_experiment's keyword arguments as the run had them

  @property
  def metric(self):
    return self.task.selection_metric

  def inputs(self, split, player="classifier"):
    """The player's numpy input for a whole split ("train", "val" or "test")."""
    from kdgan_tf.data import views as views_lib  # pylint: disable=g-import-not-at-top
    return views_lib.as_numpy_inputs(self.splits.split(split), self.views[player])

  def build(self, player, weights):
    """The player's Keras model from the run's builder, with `weights` (a .weights.h5) loaded."""
    from kdgan_tf.data import views as views_lib  # pylint: disable=g-import-not-at-top
    model = self.builders[player](num_classes=self.splits.num_classes, name=player,
                                  **views_lib.builder_inputs(self.splits, self.views[player]))
    model.load_weights(weights)
    return model


def check_model_dir(model_dir):
  """UserError (one sentence, saying what to run) unless `model_dir` holds a finished export."""
  if not model_dir:
    raise UserError("--model_dir is required (the folder of a finished training run).")
  if not os.path.isdir(model_dir):
    raise UserError(f"{model_dir} does not exist; give the --model_dir of a finished run of "
                    "`python -m kdgan_tf.train`.")
  for name in ("config.gin", "metrics.json"):
    if not os.path.exists(os.path.join(model_dir, name)):
      raise UserError(f"{model_dir} has no {name}: it is not a kdgan_tf training run; train one "
                      f"with `python -m kdgan_tf.train --gin_file=mnist.gin "
                      f"--model_dir={model_dir}`.")
  if not os.path.isdir(os.path.join(model_dir, SAVED_MODEL)):
    raise UserError(f"{model_dir} has no {SAVED_MODEL}/: finish the run first (rerun "
                    f"`python -m kdgan_tf.train --gin_file={os.path.join(model_dir, 'config.gin')}"
                    f" --model_dir={model_dir}`); only runs whose selected player is the "
                    "classifier, with run_experiment.export = True, write one.")


def run_settings():
  """run_experiment's keyword arguments under the parsed gin config: defaults + bindings."""
  from kdgan_tf import experiment  # pylint: disable=g-import-not-at-top
  signature = inspect.signature(experiment.run_experiment)
  values = {k: p.default for k, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty}
  values.update(gin.get_bindings("run_experiment"))
  return values


def load_run(model_dir):
  """Parses `model_dir/config.gin` (replacing the process's gin config) and rebuilds the run's
  data splits, player views, task and builders. Needs the run's data where training found it."""
  from kdgan_tf import tasks  # pylint: disable=g-import-not-at-top
  from kdgan_tf.config import parse_config  # pylint: disable=g-import-not-at-top
  from kdgan_tf.data import views as views_lib  # pylint: disable=g-import-not-at-top
  from kdgan_tf.models.normalization import normalizing  # pylint: disable=g-import-not-at-top
  from kdgan_tf.trainers import KDGAN  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  parse_config([os.path.join(model_dir, "config.gin")], [])
  settings = run_settings()
  splits = settings["dataset_fn"]()
  method = settings["method"] if settings["method"] is not None else KDGAN()
  views = views_lib.player_views(splits, method.players, settings["player_views"])
  builders = {"classifier": settings["classifier_builder"],
              "teacher": settings["teacher_builder"],
              "discriminator": settings["discriminator_builder"]}
  normalization = settings["input_normalization"]
  if normalization not in (None, "none"):
    images = splits.train.views.get(views_lib.INFERENCE_VIEW)
    builders = {p: normalizing(b, normalization, images) for p, b in builders.items()}
  task = (settings["task"](splits.num_classes) if settings["task"] is not None
          else tasks.task_for(splits))
  record = outputs.read_json(os.path.join(model_dir, "metrics.json"), default={})
  return Run(model_dir, record, splits, views, task, builders, settings)


def tfds_label_names(settings):
  """Class names from tensorflow-datasets' metadata, when the run read a tfds dataset."""
  from kdgan_tf.data.image_classification import (  # pylint: disable=g-import-not-at-top
      load_image_classification)
  if settings.get("dataset_fn") is not load_image_classification:
    return None
  bindings = gin.get_bindings("load_image_classification")
  if bindings.get("original_order_npz"):
    return None
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    builder = tfds.builder(bindings.get("name", "mnist"), data_dir=bindings.get("data_dir"))
    return [str(n) for n in builder.info.features["label"].names]
  except Exception:  # pylint: disable=broad-except  (no metadata: fall back to indices)
    return None


def label_names(splits, fallback=None):
  """K names: the splits' own (tag vocabularies, a user's file), else `fallback` (e.g. tfds
  metadata), else the class indices as strings."""
  for names in (splits.label_names, fallback):
    if names is not None and len(names) == splits.num_classes:
      return [str(n) for n in names]
  return [str(i) for i in range(splits.num_classes)]


def write_labels(path, names):
  """One name a line (what `python -m kdgan_tf.predict` reads next to a model)."""
  if any("\n" in n for n in names):
    raise UserError("a label name contains a line break; it cannot go into labels.txt.")
  outputs.atomic_write_text(path, "".join(f"{n}\n" for n in names))
  return path


def read_labels(path):
  with open(path) as f:
    return f.read().splitlines()
