"""The one data type of every task, and the selection of the n labelled training instances.

An example is a set of named *views* plus labels: `{"image": [28, 28, 1]}` for MNIST,
`{"image": [250], "privileged": [249]}` for Corel5k, `{"image": [4096], "text": [L] token ids}`
for YFCC100M, or whatever a user's file holds. Labels are class ids (int32 [N]: single-label
classification) or multi-hot vectors (uint8 [N, K]: multi-label tagging). Which views each
player reads is configuration (`run_experiment.player_views`), so the classifier that is
deployed can be kept to the inference-time view while the teacher and the discriminator read
privileged ones. MNIST, Corel5k, YFCC100M and a user's .npz all become `DataSplits` and flow
through the same pipeline, loop, methods, outputs and export.

Subset rules (gin `subset_rule`, image classification):
  * "stratified" (default): a seeded random permutation of the training split; its first
    `validation_size` images are the validation set; the n training images are n/K per class
    (remainder spread over the first classes) drawn from the rest. This is the honest protocol.
  * "last": the last n images of the training split, as the authors' code did
    (`train_images[60000-n:]`); the validation set is drawn at random from the other images.
    NOTE: "last n" only reproduces the authors' subset in the ORIGINAL file order
    (`keras.datasets.mnist` / an `mnist.npz`); tensorflow-datasets stores MNIST in another
    (hashed) order, where "last n" selects different images.
  * "first_per_class": the first n/K images of each class in file order, as the authors'
    CIFAR-10 code did (from `data_batch_1`); the validation set is drawn from the other images.
    Like "last", only meaningful in the original order (cifar10's tfds `id` restores it).
  * n equal to the whole training split means "every image": all the images outside the
    validation split (CIFAR-10's n = 50,000 leaves 45,000 once 5,000 are held out; the loader
    says so in `DataSplits.notes`).
The test split is never touched here: it is only reported.
"""
import dataclasses

import numpy as np

from kdgan_tf.errors import UserError

SPLITS = ("train", "val", "test")


@dataclasses.dataclass
class Split:
  """One split: `views` {name: array [N, ...]} and `labels` (int32 [N] or 0/1 uint8 [N, K])."""
  views: dict
  labels: np.ndarray

  def __len__(self):
    return len(self.labels)

  def take(self, index):
    return Split({k: v[index] for k, v in self.views.items()}, self.labels[index])


@dataclasses.dataclass
class DataSplits:
  """Fixed train / validation / test splits of one dataset (the validation split may be empty).

  `label_names` names the K classes or tags; `vocabularies` maps a token-id view to its words
  (id 0 = padding); `notes` says what a user should know about the data (written to
  metrics.json), e.g. that n = 50,000 leaves fewer training images once validation is held out.
  """
  train: Split
  val: Split
  test: Split
  num_classes: int
  name: str = "unnamed"
  label_names: list = None
  vocabularies: dict = None
  notes: str = ""
  requested_n: int = None  # the n asked for, when it differs from len(train) ("every image")

  @property
  def multi_label(self):
    return self.train.labels.ndim == 2

  @property
  def view_names(self):
    return tuple(sorted(self.train.views))

  def split(self, name):
    if name not in SPLITS:
      raise UserError(f"split must be one of {SPLITS}, got {name!r}.")
    return getattr(self, name)

  def vocabulary_size(self, view):
    """Token ids of `view` are < this (from its vocabulary, else from the largest id seen)."""
    if self.vocabularies and view in self.vocabularies:
      return len(self.vocabularies[view])
    return int(max(np.max(self.split(s).views[view]) if len(self.split(s)) else 0
                   for s in SPLITS)) + 1


def is_token_view(array):
  """Integer arrays of rank 2 are token ids (0 = padding); everything else is float features."""
  return np.issubdtype(np.asarray(array).dtype, np.integer) and np.asarray(array).ndim == 2


def validate(splits):
  """Raises UserError (one sentence) when the splits disagree in views, shapes or labels, or an
  evaluated multi-label example has no true tag (ranking measures need one)."""
  views = splits.view_names
  for name in SPLITS:
    s = splits.split(name)
    if tuple(sorted(s.views)) != views:
      raise UserError(f"{splits.name} {name}: views {sorted(s.views)} differ from the training "
                      f"split's {list(views)}.")
    for view, array in s.views.items():
      if len(array) != len(s.labels):
        raise UserError(f"{splits.name} {name}: view {view!r} has {len(array)} rows but there "
                        f"are {len(s.labels)} labels; they must be the same examples.")
      if array.shape[1:] != splits.train.views[view].shape[1:]:
        raise UserError(f"{splits.name} {name}: view {view!r} has shape {array.shape[1:]} per "
                        f"example, the training split {splits.train.views[view].shape[1:]}.")
    if splits.multi_label:
      if s.labels.ndim != 2 or s.labels.shape[1] != splits.num_classes:
        raise UserError(f"{splits.name} {name}: labels have shape {s.labels.shape}, expected "
                        f"[N, {splits.num_classes}] multi-hot vectors.")
      if not np.isin(s.labels, (0, 1)).all():
        raise UserError(f"{splits.name} {name}: labels must be 0/1 multi-hot vectors.")
      if len(s) and (s.labels.sum(axis=1) == 0).any():
        empty = int((s.labels.sum(axis=1) == 0).sum())
        raise UserError(f"{splits.name} {name}: {empty} examples have no true tag; they give D "
                        "no true pair and ranking measures are undefined for them: drop them "
                        "when building the split (splits.drop_untagged).")
    elif s.labels.ndim != 1 or (len(s) and (s.labels.min() < 0
                                            or s.labels.max() >= splits.num_classes)):
      raise UserError(f"{splits.name} {name}: labels must be class ids in [0, "
                      f"{splits.num_classes}) of shape [N].")
  if splits.label_names is not None and len(splits.label_names) != splits.num_classes:
    raise UserError(f"{splits.name}: {len(splits.label_names)} label names for "
                    f"{splits.num_classes} classes.")
  if not len(splits.train):
    raise UserError(f"{splits.name}: the training split is empty.")
  return splits


def carve_validation(train, validation_size, seed=0, binding="validation_size"):
  """(train, val): a seeded random `validation_size` of the training examples (that have at
  least one tag, for multi-label data) become the validation split; the rest stay training.
  `binding` names the gin binding in the error message."""
  validation_size = int(validation_size)
  labels = train.labels
  eligible = (np.flatnonzero(labels.sum(axis=1) > 0) if labels.ndim == 2
              else np.arange(len(labels)))
  if validation_size <= 0 or validation_size >= len(eligible):
    raise UserError(f"{binding} = {validation_size} must be between 1 and the "
                    f"{len(eligible) - 1} eligible training examples.")
  chosen = np.sort(np.random.RandomState(seed).permutation(eligible)[:validation_size])
  rest = np.setdiff1d(np.arange(len(train)), chosen)
  return train.take(rest), train.take(chosen)


def drop_untagged(split):
  """The examples of `split` with at least one tag (for evaluated multi-label splits)."""
  return split.take(np.flatnonzero(split.labels.sum(axis=1) > 0))


def fingerprint_arrays(splits):
  """The arrays that identify the training subset and the validation split (for
  `experiment.data_fingerprint`): each split's views by name, then its labels. For a one-view
  dataset that is (x_train, y_train, x_val, y_val), the order used before views existed, so
  the fingerprints and pretraining-cache keys of MNIST runs did not change."""
  out = []
  for s in (splits.train, splits.val):
    out += [s.views[v] for v in splits.view_names] + [s.labels]
  return out


SUBSET_RULES = ("stratified", "last", "first_per_class")


def make_split_indices(labels, n, validation_size, rule="stratified", seed=0, num_classes=None):
  """Returns (train_idx, val_idx) into `labels`, disjoint, each sorted by selection order.

  Raises UserError when n + validation_size exceeds the data or a class has too few images.
  """
  labels = np.asarray(labels)
  total = len(labels)
  if rule not in SUBSET_RULES:
    raise UserError(f"subset_rule must be one of {SUBSET_RULES}, got {rule!r}.")
  if n <= 0:
    raise UserError(f"n must be positive, got {n}.")
  if validation_size < 0:
    raise UserError(f"validation_size must be >= 0, got {validation_size}.")
  rng = np.random.RandomState(seed)
  if n == total and rule != "last":  # "every image": all but the validation split
    perm = rng.permutation(total)
    pool = perm[validation_size:]
    if rule == "first_per_class" and validation_size:
      raise UserError(f"subset_rule 'first_per_class' with n = {total} (every image) leaves no "
                      "images for validation: set validation_size = 0.")
    train_idx = np.arange(total) if rule == "first_per_class" else pool
    return train_idx, np.sort(perm[:validation_size])
  if n + validation_size > total:
    raise UserError(f"n = {n} plus validation_size = {validation_size} exceeds the {total} "
                    "training images available; lower n or validation_size (or set n to all "
                    f"{total} images: every image outside the validation split).")
  k = int(num_classes or labels.max() + 1)
  per_class = np.full(k, n // k)
  per_class[: n % k] += 1
  if rule == "first_per_class":
    chosen = []
    for c in range(k):
      members = np.flatnonzero(labels == c)
      if len(members) < per_class[c]:
        raise UserError(f"class {c} has only {len(members)} images, {per_class[c]} needed for "
                        f"the first {per_class[c]} per class (n = {n}).")
      chosen.append(members[: per_class[c]])
    train_idx = np.sort(np.concatenate(chosen))
    rest = np.setdiff1d(np.arange(total), train_idx)
    return train_idx, np.sort(rest[rng.permutation(len(rest))[:validation_size]])
  if rule == "last":
    train_idx = np.arange(total - n, total)
    rest = rng.permutation(total - n)
    return train_idx, np.sort(rest[:validation_size])
  perm = rng.permutation(total)
  val_idx, pool = perm[:validation_size], perm[validation_size:]
  chosen = []
  for c in range(k):
    members = pool[labels[pool] == c]
    if len(members) < per_class[c]:
      raise UserError(f"class {c} has only {len(members)} images outside the validation split, "
                      f"{per_class[c]} needed for a stratified subset of n = {n}.")
    chosen.append(members[: per_class[c]])
  train_idx = np.concatenate(chosen)
  return train_idx[rng.permutation(len(train_idx))], np.sort(val_idx)
