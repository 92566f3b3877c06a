"""Image-classification datasets (MNIST, CIFAR-10, ...) through tensorflow-datasets.

`tfds.load(..., download=False)` reads `TFDS_DATA_DIR` (or `data_dir`), so nothing is ever
fetched behind the user's back; a missing dataset is one clear sentence, not a traceback.
`original_order_npz` reads a Keras-layout `.npz` (x_train, y_train, x_test, y_test) instead:
the only way to get MNIST's raw file order that the authors' "last n" subset needs. A tfds
dataset with an `id` feature (cifar10: "train_00042") is put back into its original file order
by that id, so the authors' "first n/10 per class" CIFAR-10 subset is the one their code read.
A grid driver, which trains its runs in one process, calls `keep_decoded_arrays()` so that
CIFAR-10 is decoded once per process, not once per run (~15 s each); off by default, so that
nothing else (tfds' mock data in tests) can ever be served stale arrays.
"""
import os
import re

import gin
import numpy as np

from kdgan_tf.data.splits import DataSplits, Split, make_split_indices, validate
from kdgan_tf.errors import DataNotFoundError, UserError


_DECODED = {}  # (name, split, data folder) -> (images, labels), read-only
_KEEP = []


def keep_decoded_arrays():
  """From now on, this process decodes each tfds split once and reuses the arrays."""
  _KEEP.append(True)


def _original_order(ids):
  """Permutation sorting tfds `id` strings by their number ("train_00042" -> 42); None when an
  id has no number (keep tfds' order)."""
  numbers = [re.findall(r"\d+", i.decode() if isinstance(i, bytes) else str(i)) for i in ids]
  if not all(numbers):
    return None
  return np.argsort(np.array([int(n[-1]) for n in numbers]), kind="stable")


def _tfds_arrays(name, split, data_dir):
  key = (name, split, data_dir or os.environ.get("TFDS_DATA_DIR"))
  if not _KEEP:
    return _read_tfds(name, split, data_dir)
  if key not in _DECODED:
    _DECODED[key] = _read_tfds(name, split, data_dir)
  return _DECODED[key]


def _read_tfds(name, split, data_dir):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    builder = tfds.builder(name, data_dir=data_dir)
    has_id = "id" in builder.info.features
    ds = tfds.load(name, split=split, data_dir=data_dir, download=False)
  except tfds.core.registered.DatasetNotFoundError as e:
    raise UserError(f"'{name}' is not a tensorflow-datasets name (load_image_classification."
                    "name); MNIST is 'mnist', CIFAR-10 is 'cifar10'.") from e
  except (AssertionError, FileNotFoundError) as e:  # what tfds raises for unprepared data
    where = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
    raise DataNotFoundError(
        f"Dataset '{name}' ({split}) is not prepared in {where}: set TFDS_DATA_DIR to a folder "
        f"holding a tensorflow-datasets copy of '{name}' (in this workplace "
        "TFDS_DATA_DIR=../shared/tensorflow_datasets), or prepare it online with "
        f"`tfds build {name}`.") from e
  keys = ("image", "label") + (("id",) if has_id else ())
  ds = ds.map(lambda example: tuple(example[k] for k in keys))
  columns = [[] for _ in keys]
  for batch in tfds.as_numpy(ds.batch(10000)):
    for column, values in zip(columns, batch):
      column.append(values)
  images, labels, *ids = (np.concatenate(c) for c in columns)
  order = _original_order(ids[0]) if ids else None
  if order is not None:
    images, labels = images[order], labels[order]
  images.flags.writeable = False
  labels.flags.writeable = False
  return images, labels


def _npz_arrays(path):
  if not os.path.exists(path):
    raise DataNotFoundError(f"original_order_npz file {path} does not exist: point "
                            "`load_image_classification.original_order_npz` at a Keras-layout "
                            "mnist.npz (in this workplace ../shared/data/mnist.npz).")
  with np.load(path) as d:
    x_train, y_train, x_test, y_test = (d[k] for k in ("x_train", "y_train", "x_test", "y_test"))
  if x_train.ndim == 3:
    x_train, x_test = x_train[..., None], x_test[..., None]
  return (x_train, y_train), (x_test, y_test)


def _to_float(images):
  return (images.astype(np.float32) / 255.0)


@gin.configurable
def load_image_classification(name="mnist", n=100, subset_rule="stratified", subset_seed=0,
                              validation_size=5000, data_dir=None, original_order_npz=None):
  """Loads train/test, selects n training images and a disjoint validation split.

  Args:
    name: tensorflow-datasets name with `image` and `label` features ("mnist", "cifar10").
    n: number of labelled training instances.
    subset_rule: "stratified" (seeded, n/K per class), "last" (authors' MNIST: last n) or
      "first_per_class" (authors' CIFAR-10: first n/K per class in file order). See splits.py.
    subset_seed: seed of the subset and validation choice (kept apart from the training seed
      so that several training seeds can share one subset).
    validation_size: images held out from the training split for model selection.
    data_dir: tensorflow-datasets folder; None uses TFDS_DATA_DIR.
    original_order_npz: optional path of a Keras-layout .npz to read instead of tfds.
  Returns:
    DataSplits with one view, "image" (float32 in [0, 1], [N, H, W, C]), and int32 labels.
    n equal to the whole training split means every image outside the validation split.
  """
  if original_order_npz:
    (x_train, y_train), (x_test, y_test) = _npz_arrays(original_order_npz)
  else:
    x_train, y_train = _tfds_arrays(name, "train", data_dir)
    x_test, y_test = _tfds_arrays(name, "test", data_dir)
  num_classes = int(max(y_train.max(), y_test.max()) + 1)
  if n > len(y_train):
    raise UserError(f"n = {n} is larger than the {len(y_train)} training images of '{name}'.")
  train_idx, val_idx = make_split_indices(y_train, n, validation_size, subset_rule, subset_seed,
                                          num_classes)
  def split(images, labels):
    return Split({"image": _to_float(images)}, labels.astype(np.int32))

  notes = ""
  if len(train_idx) < n:
    notes = (f"n = {n} is every training image of '{name}'; {len(val_idx)} are held out for "
             f"validation, so {len(train_idx)} images are trained on.")
  return validate(DataSplits(
      train=split(x_train[train_idx], y_train[train_idx]),
      val=split(x_train[val_idx], y_train[val_idx]), test=split(x_test, y_test),
      num_classes=num_classes, name=name, notes=notes,
      requested_n=n if len(train_idx) < n else None))
