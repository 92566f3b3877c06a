"""Selecting the n labelled training instances and a disjoint validation split (pure numpy).

Rules (gin `subset_rule`):
  * "stratified" (default): a seeded random permutation of the training split; its first
    `validation_size` images are the validation set; the n training images are n/K per class
    (remainder spread over the first classes) drawn from the rest. This is the honest protocol.
  * "last": the last n images of the training split, as the authors' code did
    (`train_images[60000-n:]`); the validation set is drawn at random from the other images.
    NOTE: "last n" only reproduces the authors' subset in the ORIGINAL file order
    (`keras.datasets.mnist` / an `mnist.npz`); tensorflow-datasets stores MNIST in another
    (hashed) order, where "last n" selects different images.
The test split is never touched here: it is only reported.
"""
import collections

import numpy as np

from kdgan_tf.errors import UserError

DataSplits = collections.namedtuple(
    "DataSplits",
    ["x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "num_classes", "name"],
    defaults=("unnamed",))
"""Images float32 in [0, 1] with shape [N, H, W, C]; labels int32 [N]; `name` of the dataset
(recorded in metrics.json and used to group runs in reports)."""

SUBSET_RULES = ("stratified", "last")


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
  if n + validation_size > total:
    raise UserError(f"n = {n} plus validation_size = {validation_size} exceeds the {total} "
                    "training images available; lower n or validation_size.")
  rng = np.random.RandomState(seed)
  if rule == "last":
    train_idx = np.arange(total - n, total)
    rest = rng.permutation(total - n)
    return train_idx, np.sort(rest[:validation_size])
  perm = rng.permutation(total)
  val_idx, pool = perm[:validation_size], perm[validation_size:]
  k = int(num_classes or labels.max() + 1)
  per_class = np.full(k, n // k)
  per_class[: n % k] += 1
  chosen = []
  for c in range(k):
    members = pool[labels[pool] == c]
    if len(members) < per_class[c]:
      raise UserError(f"class {c} has only {len(members)} images outside the validation split, "
                      f"{per_class[c]} needed for a stratified subset of n = {n}.")
    chosen.append(members[: per_class[c]])
  train_idx = np.concatenate(chosen)
  return train_idx[rng.permutation(len(train_idx))], np.sort(val_idx)
