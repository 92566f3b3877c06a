"""Bring your own data: one `.npz` file with named views and labels, for any task.

Layout (`load_npz_dataset.path` points at the file; `gin_configs/own_data.gin` is a template):
  train_<view>, test_<view>     [N, ...] arrays, one per view, e.g. train_image (pixels in
                                [0, 1] [N, H, W, C] or features [N, D]), train_text (int token
                                ids [N, L], 0 = padding) or train_privileged (float [N, P])
  train_labels, test_labels     int class ids [N] (classification) or 0/1 [N, K] (tagging)
  val_<view>, val_labels        optional fixed validation split (all views or none); without it
                                `validation_size` examples are carved from the training split
                                with a seeded permutation
  label_names                   optional str [K]
  vocabulary_<view>             optional str [V]: token id -> word of a token view
  name                          optional str: the dataset's name in outputs (default: file name)
Integer arrays of rank 2 are read as token ids, everything else as float features: store
binary or count features as float32. The classifier reads the "image" view (what exists at
inference); the teacher and the
discriminator read every view unless `run_experiment.player_views` says otherwise. Multi-label
examples without a tag are dropped from every split (they carry no true pair for D, and ranking
measures are undefined for them). The earlier tag layout (x_*, p_*, y_*) is still read, as
views "image" and "text" (int p) or "privileged" (float p).
"""
import os

import gin
import numpy as np

from kdgan_tf.data.splits import (SPLITS, DataSplits, Split, carve_validation, drop_untagged,
                                  validate)
from kdgan_tf.errors import DataNotFoundError, UserError

BINDING = "load_npz_dataset.path"


def _legacy_views(arrays):
  """The x/p/y tag layout as views."""
  out = {}
  for split in SPLITS:
    if f"x_{split}" in arrays:
      out[f"{split}_image"] = arrays[f"x_{split}"]
    if f"p_{split}" in arrays:
      p = arrays[f"p_{split}"]
      out[f"{split}_{'text' if np.issubdtype(p.dtype, np.integer) else 'privileged'}"] = p
    if f"y_{split}" in arrays:
      out[f"{split}_labels"] = arrays[f"y_{split}"]
  for key in ("label_names", "name"):
    if key in arrays:
      out[key] = arrays[key]
  if "tag_names" in arrays:
    out["label_names"] = arrays["tag_names"]
  if "vocabulary" in arrays:
    out["vocabulary_text"] = arrays["vocabulary"]
  return out


def _split(arrays, split, views, path):
  labels = arrays[f"{split}_labels"]
  if labels.ndim == 2 and not np.isin(labels, (0, 1)).all():
    raise UserError(f"{path} (the file {BINDING} points at): {split}_labels must be 0/1 "
                    "multi-hot vectors [N, K] or class ids [N].")
  if labels.ndim == 1 and not np.issubdtype(labels.dtype, np.integer):
    raise UserError(f"{path} (the file {BINDING} points at): {split}_labels of shape [N] must "
                    "be integer class ids.")
  missing = [f"{split}_{v}" for v in views if f"{split}_{v}" not in arrays]
  if missing:
    raise UserError(f"{path} (the file {BINDING} points at) lacks {missing}: every split needs "
                    f"every view {list(views)}.")
  out = {}
  for v in views:
    array = arrays[f"{split}_{v}"]
    out[v] = array.astype(np.int32) if np.issubdtype(array.dtype, np.integer) and array.ndim == 2 \
        else array.astype(np.float32)
  multi = labels.ndim == 2
  return Split(out, labels.astype(np.uint8 if multi else np.int32))


@gin.configurable
def load_npz_dataset(path=None, validation_size=None, seed=0, name=None):
  """Reads the layout of the module docstring into `DataSplits`.

  Args:
    path: the .npz file.
    validation_size: examples carved from the training split for validation when the file has
      no val_* arrays (required then).
    seed: seed of that validation split.
    name: the dataset's name in outputs (default: the file's `name` entry, else its file name).
  """
  if not path or not os.path.isfile(str(path)):
    raise DataNotFoundError(f"data file {path!r} does not exist: set the gin binding {BINDING} "
                            "to your .npz file (layout: kdgan_tf/data/npz_dataset.py).")
  try:
    with np.load(path, allow_pickle=False) as f:
      arrays = {k: f[k] for k in f.files}
  except Exception as e:  # not a zip, truncated, pickled objects, ...
    raise UserError(f"{path} (the file {BINDING} points at) is not a readable .npz file "
                    f"({type(e).__name__}); write it with numpy.savez.") from e
  if "train_labels" not in arrays and "y_train" in arrays:
    arrays = _legacy_views(arrays)
  for key in ("train_labels", "test_labels"):
    if key not in arrays:
      raise UserError(f"{path} (the file {BINDING} points at) lacks {key!r}; the layout is in "
                      "kdgan_tf/data/npz_dataset.py.")
  views = sorted(k[len("train_"):] for k in arrays
                 if k.startswith("train_") and k != "train_labels")
  if not views:
    raise UserError(f"{path} (the file {BINDING} points at) has no train_<view> arrays (e.g. "
                    "train_image).")
  train, test = _split(arrays, "train", views, path), _split(arrays, "test", views, path)
  if "val_labels" in arrays:
    val = _split(arrays, "val", views, path)
  else:
    if validation_size is None:
      raise UserError(f"{path} has no val_* arrays: set load_npz_dataset.validation_size to "
                      "carve a validation split from the training split.")
    train, val = carve_validation(train, validation_size, seed,
                                  "load_npz_dataset.validation_size")
  multi = train.labels.ndim == 2
  if multi:
    train, val, test = (drop_untagged(s) for s in (train, val, test))
    num_classes = train.labels.shape[1]
  else:
    num_classes = int(max(s.labels.max() for s in (train, val, test) if len(s)) + 1)
  label_names = ([str(t) for t in arrays["label_names"]] if "label_names" in arrays else None)
  vocabularies = {v: [str(w) for w in arrays[f"vocabulary_{v}"]] for v in views
                  if f"vocabulary_{v}" in arrays}
  name = name or (str(arrays["name"]) if "name" in arrays
                  else os.path.splitext(os.path.basename(path))[0])
  return validate(DataSplits(train, val, test, num_classes, name, label_names,
                             vocabularies or None))


def save_npz_dataset(splits, path):
  """Writes `splits` in the layout `load_npz_dataset` reads (atomically)."""
  arrays = {}
  for split in SPLITS:
    s = splits.split(split)
    arrays.update({f"{split}_{v}": a for v, a in s.views.items()})
    arrays[f"{split}_labels"] = s.labels
  if splits.label_names is not None:
    arrays["label_names"] = np.asarray(splits.label_names)
  for view, words in (splits.vocabularies or {}).items():
    arrays[f"vocabulary_{view}"] = np.asarray(words)
  arrays["name"] = np.asarray(splits.name)
  tmp = path + ".tmp.npz"
  np.savez_compressed(tmp, **arrays)
  os.replace(tmp, path)
