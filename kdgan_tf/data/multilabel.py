"""Multi-label data with privileged information: the interface of the tag-recommendation task.

Each example has
  * inference-time features `x` (what the deployed classifier sees: an image feature vector),
  * privileged features `p`, available during training only (text token ids [N, L] int32 with
    0 = padding, or a float feature vector [N, P]),
  * a multi-hot label vector `y` over K tags (uint8 [N, K]).

`MultiLabelSplits` holds fixed train / validation / test splits of that shape; the training
methods (KDGAN, NaGAN, the KD baselines) and the non-adversarial baselines (kdgan_tf/tagrec/)
read it. The test and validation splits never contain an example without a true tag (every
ranking measure needs one, see kdgan_tf/tagrec/metrics.py); `validate` enforces it.

Bring-your-own-data layout (`.npz`, read by `load_multilabel_npz`):
  x_train, x_val, x_test         float or integer [N, D]   inference-time features
  p_train, p_val, p_test         int [N, L] token ids (0 = pad) or float [N, P]   privileged
  y_train, y_val, y_test         0/1 [N, K]   multi-hot tags
  tag_names                      str [K]      (optional; default "tag0", "tag1", ...)
  vocabulary                     str [V]      (optional; token id -> word, for token ids)
  name                           str []       (optional dataset name)
If x_val/p_val/y_val are absent, a validation split of `validation_size` examples is carved
from the training split with a seeded permutation (`carve_validation`).
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf

from kdgan_tf.errors import DataNotFoundError, UserError

SPLITS = ("train", "val", "test")
PRIVILEGED_KINDS = ("tokens", "features")


@dataclasses.dataclass
class Split:
  """One split: inference features x, privileged features p, multi-hot labels y."""
  x: np.ndarray
  p: np.ndarray
  y: np.ndarray

  def __len__(self):
    return len(self.y)

  def take(self, index):
    return Split(self.x[index], self.p[index], self.y[index])


@dataclasses.dataclass
class MultiLabelSplits:
  """Train / validation / test splits of a multi-label task with privileged information."""
  train: Split
  val: Split
  test: Split
  tag_names: list
  name: str = "unnamed"
  vocabulary: list = None  # token id -> word when the privileged view is token ids

  @property
  def num_tags(self):
    return self.train.y.shape[1]

  @property
  def privileged_kind(self):
    """"tokens" (integer ids, padded with 0) or "features" (float vectors)."""
    return "tokens" if np.issubdtype(self.train.p.dtype, np.integer) else "features"

  def split(self, name):
    if name not in SPLITS:
      raise UserError(f"split must be one of {SPLITS}, got {name!r}.")
    return getattr(self, name)


def validate(splits):
  """Raises UserError when shapes disagree or an evaluated example has no true tag."""
  k = splits.num_tags
  if len(splits.tag_names) != k:
    raise UserError(f"{splits.name}: {len(splits.tag_names)} tag names for {k} label columns.")
  for name in SPLITS:
    s = splits.split(name)
    if not len(s.x) == len(s.p) == len(s.y):
      raise UserError(f"{splits.name} {name}: x, p and y have {len(s.x)}, {len(s.p)} and "
                      f"{len(s.y)} rows; they must be the same examples.")
    if s.y.ndim != 2 or s.y.shape[1] != k:
      raise UserError(f"{splits.name} {name}: labels have shape {s.y.shape}, expected [N, {k}].")
    if s.x.shape[1:] != splits.train.x.shape[1:] or s.p.shape[1:] != splits.train.p.shape[1:]:
      raise UserError(f"{splits.name} {name}: feature shapes differ from the training split.")
    if not np.isin(s.y, (0, 1)).all():
      raise UserError(f"{splits.name} {name}: labels must be 0/1 multi-hot vectors.")
    if name != "train" and len(s.y) and (s.y.sum(axis=1) == 0).any():
      empty = int((s.y.sum(axis=1) == 0).sum())
      raise UserError(f"{splits.name} {name}: {empty} examples have no true tag; ranking "
                      "measures are undefined for them. Drop them when building the split.")
  return splits


def carve_validation(train, validation_size, seed=0):
  """(train, val): a seeded random `validation_size` of the training examples that have at
  least one tag become the validation split; the rest stay training examples."""
  validation_size = int(validation_size)
  tagged = np.flatnonzero(train.y.sum(axis=1) > 0)
  if validation_size <= 0 or validation_size >= len(tagged):
    raise UserError(f"validation_size = {validation_size} must be between 1 and the "
                    f"{len(tagged) - 1} tagged training examples.")
  chosen = np.sort(np.random.RandomState(seed).permutation(tagged)[:validation_size])
  rest = np.setdiff1d(np.arange(len(train)), chosen)
  return train.take(rest), train.take(chosen)


def drop_untagged(split):
  """The examples of `split` with at least one tag (for evaluated splits)."""
  return split.take(np.flatnonzero(split.y.sum(axis=1) > 0))


def load_multilabel_npz(path, validation_size=None, seed=0):
  """Reads the bring-your-own-data `.npz` layout of the module docstring."""
  if not path or not os.path.exists(path):
    raise DataNotFoundError(f"multi-label data file {path!r} does not exist: point the gin "
                            "binding (e.g. load_multilabel_npz.path) at your .npz file.")
  with np.load(path, allow_pickle=False) as f:
    arrays = {k: f[k] for k in f.files}
  missing = [k for k in ("x_train", "p_train", "y_train", "x_test", "p_test", "y_test")
             if k not in arrays]
  if missing:
    raise UserError(f"{path} lacks {missing}; see kdgan_tf/data/multilabel.py for the layout.")
  train = Split(arrays["x_train"], arrays["p_train"], arrays["y_train"].astype(np.uint8))
  test = Split(arrays["x_test"], arrays["p_test"], arrays["y_test"].astype(np.uint8))
  if any(f"{a}_val" in arrays for a in "xpy"):
    missing = [f"{a}_val" for a in "xpy" if f"{a}_val" not in arrays]
    if missing:
      raise UserError(f"{path} has a partial validation split (lacks {missing}): give x_val, "
                      "p_val and y_val together, or none of them.")
    val = Split(arrays["x_val"], arrays["p_val"], arrays["y_val"].astype(np.uint8))
  else:
    if validation_size is None:
      raise UserError(f"{path} has no validation split: set validation_size to carve one "
                      "from the training split.")
    train, val = carve_validation(train, validation_size, seed)
  k = train.y.shape[1]
  tag_names = [str(t) for t in arrays.get("tag_names", [f"tag{i}" for i in range(k)])]
  vocabulary = [str(w) for w in arrays["vocabulary"]] if "vocabulary" in arrays else None
  name = str(arrays["name"]) if "name" in arrays else os.path.splitext(os.path.basename(path))[0]
  return validate(MultiLabelSplits(train, val, test, tag_names, name, vocabulary))


def save_multilabel_npz(splits, path):
  """Writes `splits` in the layout `load_multilabel_npz` reads (atomically)."""
  arrays = {f"{a}_{s}": getattr(splits.split(s), a) for s in SPLITS for a in "xpy"}
  arrays["tag_names"] = np.asarray(splits.tag_names)
  arrays["name"] = np.asarray(splits.name)
  if splits.vocabulary is not None:
    arrays["vocabulary"] = np.asarray(splits.vocabulary)
  tmp = path + ".tmp.npz"
  np.savez_compressed(tmp, **arrays)
  os.replace(tmp, path)


def as_dataset(split, batch_size=None, shuffle_seed=None):
  """A tf.data pipeline of {"features", "privileged", "labels"} dicts (labels float32).

  Shuffled each epoch with `shuffle_seed` when given; batched when `batch_size` is given.
  """
  ds = tf.data.Dataset.from_tensor_slices({
      "features": split.x.astype(np.float32), "privileged": split.p,
      "labels": split.y.astype(np.float32)}).cache()
  if shuffle_seed is not None:
    ds = ds.shuffle(len(split), seed=shuffle_seed, reshuffle_each_iteration=True)
  if batch_size:
    ds = ds.batch(batch_size)
  return ds.prefetch(tf.data.AUTOTUNE)
