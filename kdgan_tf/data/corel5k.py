"""MULAN Corel5k as a privileged multi-label task (real data that works offline).

Corel5k (Duygulu et al., ECCV 2002; MULAN's copy): 4,500 training and 500 test images, each a
499-D binary vector of visual blob-cluster indicators, labelled with some of 374 keywords. It has
no text, so its privileged view is a fixed, seeded half of the blob columns: view "image" is
`x[:, img_cols]` (250 columns; the classifier reads it), view "privileged" is `x[:, priv_cols]`
(249 columns; the teacher and discriminator may also read it). Both index lists ship inside
the file (`corel5k_mulan.npz`, with `source` and `notes` entries), so every user gets the same
split of the columns. Training examples without a keyword are dropped (the file has none).

The validation split is carved from the 4,500 training images with a seeded permutation (the
MULAN split has none); test images without a keyword would be dropped (the file has none).
"""
import os

import gin
import numpy as np

from kdgan_tf.data.splits import DataSplits, Split, carve_validation, drop_untagged, validate
from kdgan_tf.errors import DataNotFoundError, UserError

VIEWS = ("img", "all")


@gin.configurable
def load_corel5k(path=None, validation_size=500, seed=0, view="img"):
  """Corel5k as `DataSplits` (views "image" and "privileged", multi-hot labels [N, 374]).

  Args:
    path: the .npz file (in this project's shared data: `../shared/data/corel5k_mulan.npz`).
    validation_size: training images held out for validation (hyperparameter selection).
    seed: seed of the validation split.
    view: inference-time features: "img" (the 250 classifier columns, the privileged setting)
      or "all" (all 499 columns: the un-privileged reference point).
  """
  if not path or not os.path.exists(str(path)):
    raise DataNotFoundError(
        f"Corel5k file {path!r} not found: set the gin binding load_corel5k.path to the "
        "corel5k_mulan.npz file (here: ../shared/data/corel5k_mulan.npz).")
  if view not in VIEWS:
    raise UserError(f"load_corel5k.view must be one of {VIEWS}, got {view!r}.")
  with np.load(path, allow_pickle=False) as f:
    d = {k: f[k] for k in f.files}
  needed = ("x_train", "y_train", "x_test", "y_test", "img_cols", "priv_cols", "label_names")
  missing = [k for k in needed if k not in d]
  if missing:
    raise UserError(f"{path} lacks {missing}: it is not a corel5k_mulan.npz file.")
  img = d["img_cols"].astype(np.int64) if view == "img" else np.arange(d["x_train"].shape[1])
  priv = d["priv_cols"].astype(np.int64)

  def split(x, y):
    x = x.astype(np.float32)
    return Split({"image": x[:, img], "privileged": x[:, priv]}, y.astype(np.uint8))

  train, val = carve_validation(drop_untagged(split(d["x_train"], d["y_train"])),
                                validation_size, seed, "load_corel5k.validation_size")
  test = drop_untagged(split(d["x_test"], d["y_test"]))
  name = "corel5k" if view == "img" else "corel5k_allcols"
  labels = [str(t) for t in d["label_names"]]
  return validate(DataSplits(train, val, test, len(labels), name, labels))
