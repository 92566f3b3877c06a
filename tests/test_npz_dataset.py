"""The one data type (views + labels), the bring-your-own .npz layout and the Corel5k loader, on
generated arrays."""
import numpy as np
import pytest

from kdgan_tf.data import corel5k, npz_dataset, pipeline
from kdgan_tf.data.splits import SPLITS, DataSplits, Split, carve_validation, validate
from kdgan_tf.errors import DataNotFoundError, UserError
from tagrec_fixtures import write_corel_like_npz


def _split(n, k=4, d=3, seed=0, tokens=False):
  rng = np.random.RandomState(seed)
  y = (rng.rand(n, k) < 0.4).astype(np.uint8)
  y[np.arange(n), rng.randint(0, k, n)] = 1  # every example tagged
  p = rng.randint(0, 9, (n, 5)).astype(np.int32) if tokens else rng.rand(n, 2).astype(np.float32)
  return Split({"image": rng.rand(n, d).astype(np.float32),
                "text" if tokens else "privileged": p}, y)


def _splits(tokens=True):
  return DataSplits(_split(20, tokens=tokens), _split(5, seed=1, tokens=tokens),
                    _split(6, seed=2, tokens=tokens), 4, "toy", ["a", "b", "c", "d"],
                    {"text": [f"w{i}" for i in range(9)]} if tokens else None)


def test_npz_round_trip_keeps_every_array(tmp_path):
  splits = _splits()
  path = str(tmp_path / "toy.npz")
  npz_dataset.save_npz_dataset(splits, path)
  back = npz_dataset.load_npz_dataset(path)
  for s in SPLITS:
    for view in ("image", "text"):
      np.testing.assert_array_equal(back.split(s).views[view], splits.split(s).views[view])
    np.testing.assert_array_equal(back.split(s).labels, splits.split(s).labels)
  assert back.label_names == ["a", "b", "c", "d"] and back.name == "toy"
  assert back.multi_label and back.num_classes == 4 and back.view_names == ("image", "text")
  assert back.vocabulary_size("text") == 9


def test_npz_single_label_file_and_carved_validation(tmp_path):
  rng = np.random.RandomState(0)
  path = str(tmp_path / "cls.npz")
  np.savez(path, train_image=rng.rand(30, 4, 4, 1), train_labels=rng.randint(0, 3, 30),
           test_image=rng.rand(9, 4, 4, 1), test_labels=np.arange(9) % 3)
  with pytest.raises(UserError, match="load_npz_dataset.validation_size"):
    npz_dataset.load_npz_dataset(path)
  splits = npz_dataset.load_npz_dataset(path, validation_size=6, seed=1)
  assert not splits.multi_label and splits.num_classes == 3
  assert (len(splits.train), len(splits.val), len(splits.test)) == (24, 6, 9)
  assert splits.train.views["image"].dtype == np.float32 and splits.name == "cls"


def test_npz_reads_the_earlier_tag_layout(tmp_path):
  rng = np.random.RandomState(0)
  y = np.eye(3, dtype=np.uint8)[rng.randint(0, 3, 12)]
  path = str(tmp_path / "old.npz")
  np.savez(path, x_train=rng.rand(12, 2), p_train=rng.randint(1, 5, (12, 3)), y_train=y,
           x_test=rng.rand(12, 2), p_test=rng.randint(1, 5, (12, 3)), y_test=y,
           tag_names=np.array(["a", "b", "c"]))
  splits = npz_dataset.load_npz_dataset(path, validation_size=4)
  assert splits.view_names == ("image", "text") and splits.label_names == ["a", "b", "c"]


def test_bad_files_are_one_sentence_naming_the_binding(tmp_path):
  with pytest.raises(DataNotFoundError, match="load_npz_dataset.path"):
    npz_dataset.load_npz_dataset(str(tmp_path / "nope.npz"))
  junk = tmp_path / "junk.npz"
  junk.write_bytes(b"not a zip")
  with pytest.raises(UserError, match="load_npz_dataset.path points at.*not a readable"):
    npz_dataset.load_npz_dataset(str(junk))
  partial = str(tmp_path / "partial.npz")
  np.savez(partial, train_image=np.zeros((4, 2)), train_labels=np.zeros(4, int),
           test_labels=np.zeros(2, int))
  with pytest.raises(UserError, match=r"lacks \['test_image'\]"):
    npz_dataset.load_npz_dataset(partial, validation_size=1)
  with pytest.raises(DataNotFoundError, match="load_corel5k.path"):
    corel5k.load_corel5k(path=str(tmp_path / "nope.npz"))


def test_carve_validation_is_seeded_disjoint_and_tagged():
  train = _split(30)
  train.labels[:3] = 0  # untagged examples may train but never validate
  a_train, a_val = carve_validation(train, 8, seed=3)
  b_train, b_val = carve_validation(train, 8, seed=3)
  np.testing.assert_array_equal(a_val.views["image"], b_val.views["image"])
  assert len(a_train) == 22 and len(a_val) == 8
  assert (a_val.labels.sum(axis=1) > 0).all()
  rows = {tuple(r) for r in a_train.views["image"]} | {tuple(r) for r in a_val.views["image"]}
  assert len(rows) == 30  # disjoint and complete
  _, c_val = carve_validation(train, 8, seed=4)
  assert not np.array_equal(a_val.views["image"], c_val.views["image"])
  with pytest.raises(UserError, match="validation_size"):
    carve_validation(train, 40)


def test_validate_refuses_untagged_evaluated_examples_and_bad_shapes():
  splits = _splits()
  splits.test.labels[2] = 0
  with pytest.raises(UserError, match="1 examples have no true tag"):
    validate(splits)
  splits = _splits()
  splits.val.views["text"] = splits.val.views["text"][:3]
  with pytest.raises(UserError, match="same examples"):
    validate(splits)
  splits = _splits()
  splits.train.labels[0, 0] = 2
  with pytest.raises(UserError, match="0/1"):
    validate(splits)
  splits = _splits()
  del splits.test.views["text"]
  with pytest.raises(UserError, match="views"):
    validate(splits)


def test_pipeline_batches_every_view_with_float_tags():
  split = _split(7, tokens=True)
  batches = list(pipeline.evaluation_batches(pipeline.base_dataset(split), 3))
  assert [len(b[1]) for b in batches] == [3, 3, 1]
  seen = np.concatenate([b[0]["image"].numpy() for b in batches])
  np.testing.assert_allclose(seen, split.views["image"])
  assert batches[0][0]["text"].dtype.is_integer and batches[0][1].dtype.is_floating


def test_corel5k_loader_uses_the_files_column_split(tmp_path):
  path = write_corel_like_npz(str(tmp_path / "corel.npz"), train=100, test=20, features=20)
  splits = corel5k.load_corel5k(path=path, validation_size=25, seed=0)
  raw = np.load(path)
  assert (len(splits.train), len(splits.val), len(splits.test)) == (75, 25, 20)
  assert splits.train.views["image"].shape[1] == 10
  assert splits.train.views["privileged"].shape[1] == 10
  np.testing.assert_array_equal(splits.test.views["image"], raw["x_test"][:, raw["img_cols"]])
  np.testing.assert_array_equal(splits.test.views["privileged"],
                                raw["x_test"][:, raw["priv_cols"]])
  assert splits.label_names == [f"tag{i}" for i in range(6)] and splits.name == "corel5k"
  everything = corel5k.load_corel5k(path=path, validation_size=25, view="all")
  assert everything.train.views["image"].shape[1] == 20
  assert everything.name == "corel5k_allcols"
  with pytest.raises(UserError, match="view"):
    corel5k.load_corel5k(path=path, view="text")
