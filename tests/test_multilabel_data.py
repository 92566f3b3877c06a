"""The multi-label / privileged data interface and the Corel5k loader, on generated arrays."""
import numpy as np
import pytest

from kdgan_tf.data import corel5k, multilabel
from kdgan_tf.errors import DataNotFoundError, UserError
from tagrec_fixtures import write_corel_like_npz


def _split(n, k=4, d=3, seed=0, tokens=False):
  rng = np.random.RandomState(seed)
  y = (rng.rand(n, k) < 0.4).astype(np.uint8)
  y[np.arange(n), rng.randint(0, k, n)] = 1  # every example tagged
  p = rng.randint(0, 9, (n, 5)).astype(np.int32) if tokens else rng.rand(n, 2)
  return multilabel.Split(rng.rand(n, d).astype(np.float32), p, y)


def _splits(tokens=True):
  return multilabel.MultiLabelSplits(_split(20, tokens=tokens), _split(5, seed=1, tokens=tokens),
                                     _split(6, seed=2, tokens=tokens),
                                     ["a", "b", "c", "d"], "toy", vocabulary=None)


def test_npz_round_trip_keeps_every_array(tmp_path):
  splits = _splits()
  path = str(tmp_path / "toy.npz")
  multilabel.save_multilabel_npz(splits, path)
  back = multilabel.load_multilabel_npz(path)
  for s in multilabel.SPLITS:
    for a in "xpy":
      np.testing.assert_array_equal(getattr(back.split(s), a), getattr(splits.split(s), a))
  assert back.tag_names == ["a", "b", "c", "d"] and back.name == "toy"
  assert back.privileged_kind == "tokens" and back.num_tags == 4
  assert _splits(tokens=False).privileged_kind == "features"


def test_carve_validation_is_seeded_disjoint_and_tagged():
  train = _split(30)
  train.y[:3] = 0  # untagged examples may train but never validate
  a_train, a_val = multilabel.carve_validation(train, 8, seed=3)
  b_train, b_val = multilabel.carve_validation(train, 8, seed=3)
  np.testing.assert_array_equal(a_val.x, b_val.x)
  assert len(a_train) == 22 and len(a_val) == 8
  assert (a_val.y.sum(axis=1) > 0).all()
  rows = {tuple(r) for r in a_train.x} | {tuple(r) for r in a_val.x}
  assert len(rows) == 30  # disjoint and complete
  _, c_val = multilabel.carve_validation(train, 8, seed=4)
  assert not np.array_equal(a_val.x, c_val.x)
  with pytest.raises(UserError, match="validation_size"):
    multilabel.carve_validation(train, 40)


def test_validate_refuses_untagged_evaluated_examples_and_bad_shapes():
  splits = _splits()
  splits.test.y[2] = 0
  with pytest.raises(UserError, match="1 examples have no true tag"):
    multilabel.validate(splits)
  splits = _splits()
  splits.val = multilabel.Split(splits.val.x, splits.val.p[:3], splits.val.y)
  with pytest.raises(UserError, match="same examples"):
    multilabel.validate(splits)
  splits = _splits()
  splits.train.y[0, 0] = 2
  with pytest.raises(UserError, match="0/1"):
    multilabel.validate(splits)


def test_missing_file_is_one_clear_sentence(tmp_path):
  with pytest.raises(DataNotFoundError, match="load_multilabel_npz.path"):
    multilabel.load_multilabel_npz(str(tmp_path / "nope.npz"))
  with pytest.raises(DataNotFoundError, match="load_corel5k.path"):
    corel5k.load_corel5k(path=str(tmp_path / "nope.npz"))


def test_as_dataset_batches_every_view():
  split = _split(7, tokens=True)
  batches = list(multilabel.as_dataset(split, batch_size=3, shuffle_seed=1))
  assert [len(b["labels"]) for b in batches] == [3, 3, 1]
  seen = np.concatenate([b["features"].numpy() for b in batches])
  np.testing.assert_allclose(np.sort(seen, axis=0), np.sort(split.x, axis=0))
  assert batches[0]["privileged"].dtype.is_integer and batches[0]["labels"].dtype.is_floating


def test_corel5k_loader_uses_the_files_column_split(tmp_path):
  path = write_corel_like_npz(str(tmp_path / "corel.npz"), train=100, test=20, features=20)
  splits = corel5k.load_corel5k(path=path, validation_size=25, seed=0)
  raw = np.load(path)
  assert (len(splits.train), len(splits.val), len(splits.test)) == (75, 25, 20)
  assert splits.train.x.shape[1] == 10 and splits.train.p.shape[1] == 10
  np.testing.assert_array_equal(splits.test.x, raw["x_test"][:, raw["img_cols"]])
  np.testing.assert_array_equal(splits.test.p, raw["x_test"][:, raw["priv_cols"]])
  assert splits.tag_names == [f"tag{i}" for i in range(6)] and splits.name == "corel5k"
  everything = corel5k.load_corel5k(path=path, validation_size=25, view="all")
  assert everything.train.x.shape[1] == 20 and everything.name == "corel5k_allcols"
  with pytest.raises(UserError, match="view"):
    corel5k.load_corel5k(path=path, view="text")
