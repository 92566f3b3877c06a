"""YFCC100M tag-recommendation builder on a tiny generated metadata file (no real data needed)."""
import os
import urllib.parse

import numpy as np
import pytest
import tensorflow as tf

from kdgan_tf.data import image_features
from kdgan_tf.data import yfcc100m
from kdgan_tf.errors import DataNotFoundError, UserError

NUM_ROWS = 72
PRIMARY = ["sky", "beach", "new york", "dog", "sunset"]   # one per usable photo -> the top 5
SECONDARY = ["cat", "tree", "car", "snow", "bird"]        # every other photo, fewer counts


def letters(i):
  """A word of letters only that is unique to row i (e.g. "uniqbcd")."""
  return "uniq" + "".join(chr(97 + int(d)) for d in f"{i:03d}")


def make_rows():
  """(rows of 23 fields, {photo id: info}) with videos, blank texts and untagged photos."""
  rows, info = [], {}
  for i in range(NUM_ROWS):
    pid = str(5000 + 37 * i)
    video = i % 12 == 3
    blank = i % 12 == 7
    no_vocab = i % 12 == 11
    if no_vocab:
      raw_tags = [f"odd{letters(i)}"]
      tags = set(raw_tags)
    else:
      primary = PRIMARY[i % 5]
      shown = primary.title() if i % 4 == 1 else primary   # "New York" -> "new york"
      raw_tags = [urllib.parse.quote_plus(shown), urllib.parse.quote_plus(primary)]
      tags = {primary}
      if i % 4 == 0:
        raw_tags.append(SECONDARY[i % 7 % 5])
        tags.add(SECONDARY[i % 7 % 5])
    title = "" if i % 5 == 0 else "Holiday+Photo"
    description = "" if i % 5 == 1 else f"{letters(i)}+at+the+%3Cb%3Emountain%3C%2Fb%3E+lake"
    if blank:
      title, description = "+", ""
    fields = [""] * yfcc100m.NUM_COLUMNS
    fields[yfcc100m.COL_ID] = pid
    fields[yfcc100m.COL_USER] = f"user{i % 4}@N00"
    fields[yfcc100m.COL_TITLE] = title
    fields[yfcc100m.COL_DESCRIPTION] = description
    fields[yfcc100m.COL_USER_TAGS] = ",".join(raw_tags)
    fields[yfcc100m.COL_MARKER] = "1" if video else "0"
    rows.append(fields)
    info[pid] = dict(i=i, tags=tags, usable=not (video or blank), uniq=letters(i))
  return rows, info


ROWS, INFO = make_rows()
MISSING = {pid for pid, d in INFO.items() if d["usable"] and d["i"] in (2, 4)}  # no feature


def write_manual(root, feature_ids, image_ids=()):
  os.makedirs(root, exist_ok=True)
  with open(os.path.join(root, "yfcc100m_dataset"), "w") as f:
    for fields in ROWS:
      f.write("\t".join(fields) + "\n")
  if feature_ids:
    ids = np.asarray(sorted(feature_ids))
    feats = np.random.RandomState(0).rand(len(ids), yfcc100m.FEATURE_DIM).astype(np.float32)
    np.savez(os.path.join(root, "features.npz"), ids=ids, features=feats)
  if image_ids:
    os.makedirs(os.path.join(root, "images"))
    rng = np.random.RandomState(1)
    for pid in image_ids:
      pixels = rng.randint(0, 256, size=(30 + rng.randint(20), 40, 3)).astype(np.uint8)
      tf.io.write_file(os.path.join(root, "images", f"{pid}.jpg"), tf.io.encode_jpeg(pixels))
  return root


def npz_table(root):
  with np.load(os.path.join(root, "features.npz")) as f:
    return dict(zip(f["ids"].tolist(), f["features"]))


def tiny_config(name, **kw):
  base = dict(name=name, tag_selection="top", num_tags=5, num_train=30, num_val=5, num_test=10,
              max_text_length=8, vgg_weights=None, feature_batch_size=4)
  base.update(kw)
  return yfcc100m.Yfcc100mConfig(**base)


def candidates(available):
  """Photo ids that must be selectable: usable, available, >= 1 of the primary (top) tags."""
  return {pid for pid, d in INFO.items()
          if d["usable"] and pid in available and d["tags"] & set(PRIMARY)}


def examples(builder, split):
  out = {}
  for ex in builder.as_dataset(split=split, shuffle_files=False).as_numpy_iterator():
    out[ex["photo_id"].decode()] = ex
  return out


@pytest.fixture(scope="module")
def npz_build(tmp_path_factory):
  root = tmp_path_factory.mktemp("yfcc")
  manual = write_manual(str(root / "manual"), set(INFO) - MISSING)
  cfg = tiny_config("tiny_top")
  splits = yfcc100m.load_yfcc100m(cfg, data_dir=str(root / "tfds"), manual_dir=manual)
  builder = yfcc100m.Yfcc100mTagrec(config=cfg, data_dir=str(root / "tfds"))
  return dict(root=root, manual=manual, cfg=cfg, splits=splits, builder=builder,
              examples={s: examples(builder, s) for s in ("train", "validation", "test")})


def test_tokenizer():
  text = yfcc100m.photo_text("Sunset+at+the+Beach%21",
                             "%3Ca+href%3D%22http%3A%2F%2Fx.com%22%3ELink%3C%2Fa%3E+caf%C3%A9+"
                             "www.flickr.com%2Fp+I+am+so+HAPPY+2012+ok+well-known+it%27s")
  assert yfcc100m.tokenize_text(text) == ["sunset", "beach", "link", "cafe", "happy", "well",
                                          "known"]
  vocab = yfcc100m.build_vocabulary([["b", "a", "c"], ["a", "c"], ["a"]], min_count=2)
  assert vocab == ["<pad>", "<unk>", "a", "c"]
  index = {w: i for i, w in enumerate(vocab)}
  assert yfcc100m.encode_tokens(["c", "zz", "a"], index, 5).tolist() == [3, 1, 2, 0, 0]
  assert yfcc100m.encode_tokens(["c", "zz", "a"], index, 2).tolist() == [3, 1]
  assert yfcc100m.parse_tags("Dog,dog,new+york,%20,New%20York") == ["dog", "new york"]


def test_registered_and_configs():
  import tensorflow_datasets as tfds
  assert "yfcc100m_tagrec" in tfds.list_builders()
  configs = {c.name: c for c in yfcc100m.Yfcc100mTagrec.BUILDER_CONFIGS}
  assert set(configs) == {"top200", "rnd200"}
  for c in configs.values():
    assert (c.num_tags, c.num_train, c.num_val, c.num_test) == (200, 20000, 2000, 2000)
  assert configs["rnd200"].tag_selection == "random"
  custom = yfcc100m.make_config("rnd200", {"num_train": 100, "num_val": 10})
  assert custom.name.startswith("rnd200_") and custom.num_train == 100
  with pytest.raises(UserError):
    yfcc100m.make_config("top200", {"no_such_field": 1})


def test_splits_tags_and_selection(npz_build):
  s, ex = npz_build["splits"], npz_build["examples"]
  assert (len(s.train), len(s.val), len(s.test)) == (25, 5, 10)
  image = s.train.views["image"]
  assert image.shape == (25, 4096) and image.dtype == np.float32
  assert s.test.views["text"].shape == (10, 8) and s.test.views["text"].dtype == np.int32
  assert s.train.labels.shape == (25, 5) and s.train.labels.dtype == np.uint8
  assert s.label_names == sorted(PRIMARY)
  assert (s.val.labels.sum(axis=1) >= 1).all() and (s.test.labels.sum(axis=1) >= 1).all()
  allowed = candidates(set(INFO) - MISSING)
  ids = [pid for split in ex.values() for pid in split]
  assert len(ids) == len(set(ids)) == 40 and set(ids) <= allowed
  table = npz_table(npz_build["manual"])
  for split in ex.values():
    for pid, e in split.items():
      expected = np.asarray([t in INFO[pid]["tags"] for t in s.label_names], np.uint8)
      np.testing.assert_array_equal(e["labels"], expected)   # reduced to the vocabulary
      np.testing.assert_array_equal(e["image_feature"], table[pid])


def test_text_vocabulary_from_train_only(npz_build):
  s, ex = npz_build["splits"], npz_build["examples"]
  vocab = set(s.vocabularies["text"])
  assert s.vocabularies["text"][:2] == ["<pad>", "<unk>"] and "the" not in vocab
  assert {"mountain", "lake", "holiday", "photo"} <= vocab
  for pid in ex["train"]:
    if INFO[pid]["i"] % 5 != 1:   # has a description, so its unique word
      assert INFO[pid]["uniq"] in vocab
  held_out = [pid for split in ("validation", "test") for pid in ex[split]]
  for pid in held_out:
    assert INFO[pid]["uniq"] not in vocab
  assert not (s.train.views["text"] == 1).any()   # every training word is in the vocabulary
  for pid in held_out:
    text = ex["validation"].get(pid, ex["test"].get(pid))["text"]
    assert (text == 1).sum() == (0 if INFO[pid]["i"] % 5 == 1 else 1)   # unique word -> unk


def test_deterministic(npz_build, tmp_path):
  again = yfcc100m.load_yfcc100m(npz_build["cfg"], data_dir=str(tmp_path / "tfds"),
                                 manual_dir=npz_build["manual"])
  first = npz_build["splits"]
  assert again.label_names == first.label_names
  assert again.vocabularies["text"] == first.vocabularies["text"]
  for name in ("train", "val", "test"):
    for view in ("image", "text"):
      np.testing.assert_array_equal(again.split(name).views[view], first.split(name).views[view])
    np.testing.assert_array_equal(again.split(name).labels, first.split(name).labels)
  # Reloading the prepared data (no manual_dir needed) gives the same splits.
  reloaded = yfcc100m.load_yfcc100m(npz_build["cfg"], data_dir=str(npz_build["root"] / "tfds"))
  np.testing.assert_array_equal(reloaded.test.views["text"], first.test.views["text"])
  assert reloaded.vocabularies["text"] == first.vocabularies["text"]


def test_random_tags(npz_build, tmp_path):
  cfg = tiny_config("tiny_rnd", tag_selection="random", num_tags=4, min_tag_count=3,
                    num_train=12, num_val=3, num_test=4)
  s = yfcc100m.load_yfcc100m(cfg, data_dir=str(tmp_path), manual_dir=npz_build["manual"])
  assert len(s.label_names) == 4 and s.label_names == sorted(s.label_names)
  assert set(s.label_names) <= set(PRIMARY) | set(SECONDARY)
  assert (len(s.train), len(s.val), len(s.test)) == (9, 3, 4)
  assert (s.test.labels.sum(axis=1) >= 1).all()


def test_images_and_features_mixed(tmp_path):
  usable = candidates(set(INFO))
  image_only = sorted(usable)[:3]
  both = sorted(usable)[3]
  manual = write_manual(str(tmp_path / "manual"), set(INFO) - set(image_only),
                        image_ids=image_only + [both])
  cfg = tiny_config("tiny_mixed", num_train=len(usable) - 10)   # every usable photo is used
  s = yfcc100m.load_yfcc100m(cfg, data_dir=str(tmp_path / "tfds"), manual_dir=manual)
  assert len(s.train) + len(s.val) + len(s.test) == len(usable)
  builder = yfcc100m.Yfcc100mTagrec(config=cfg, data_dir=str(tmp_path / "tfds"))
  ex = {}
  for split in ("train", "validation", "test"):
    ex.update(examples(builder, split))
  direct = image_features.extract_vgg16_fc7(   # the same (cached) random-weight network
      [os.path.join(manual, "images", f"{image_only[0]}.jpg")], weights=None, progress=False)
  np.testing.assert_allclose(ex[image_only[0]]["image_feature"], direct[0], rtol=1e-4,
                             atol=1e-4)
  for pid in image_only:
    assert ex[pid]["image_feature"].shape == (4096,) and (ex[pid]["image_feature"] >= 0).all()
  np.testing.assert_array_equal(ex[both]["image_feature"], npz_table(manual)[both])  # npz wins


def test_extract_vgg16_fc7_arrays():
  rng = np.random.RandomState(2)
  images = [rng.randint(0, 256, size=(50, 60, 3)).astype(np.uint8),
            rng.randint(0, 256, size=(32, 32, 1)).astype(np.uint8)]
  one = image_features.extract_vgg16_fc7(images, batch_size=1, weights=None, progress=False)
  two = image_features.extract_vgg16_fc7(images, batch_size=2, weights=None, progress=False)
  assert one.shape == (2, 4096) and one.dtype == np.float32
  assert np.isfinite(one).all() and (one >= 0).all()   # after ReLU
  np.testing.assert_allclose(one, two, rtol=1e-4, atol=1e-4)
  with pytest.raises(UserError):
    image_features.extract_vgg16_fc7(["/nonexistent/x.jpg"], weights=None, progress=False)


def test_missing_data_error(tmp_path):
  cfg = tiny_config("tiny_missing")
  with pytest.raises(DataNotFoundError) as e:
    yfcc100m.load_yfcc100m(cfg, data_dir=str(tmp_path / "tfds"))
  message = str(e.value).splitlines()[0]   # gin appends an "In call to configurable" line
  assert message.count(". ") == 0 and message.endswith(".")
  assert "manual_dir" in message and "data_dir" in message and "features.npz" in message
  with pytest.raises(DataNotFoundError):   # the paper-sized configs, by name
    yfcc100m.load_yfcc100m("rnd200", data_dir=str(tmp_path / "tfds"),
                           manual_dir=str(tmp_path / "nowhere"))
  only_metadata = str(tmp_path / "meta_only")
  write_manual(only_metadata, feature_ids=())
  with pytest.raises(DataNotFoundError):
    yfcc100m.load_yfcc100m(cfg, data_dir=str(tmp_path / "tfds"), manual_dir=only_metadata)


def test_bad_metadata_and_too_few_photos(tmp_path):
  manual = write_manual(str(tmp_path / "manual"), set(INFO))
  with open(os.path.join(manual, "yfcc100m_dataset"), "a") as f:
    f.write("123\tonly three\tfields\n")
  with pytest.raises(UserError, match="tab-separated fields"):
    yfcc100m.load_yfcc100m(tiny_config("tiny_bad"), data_dir=str(tmp_path / "a"),
                           manual_dir=manual)
  good = write_manual(str(tmp_path / "good"), set(INFO))
  with pytest.raises(UserError, match="usable photos"):
    yfcc100m.load_yfcc100m(tiny_config("tiny_big", num_train=200), data_dir=str(tmp_path / "b"),
                           manual_dir=good)


def test_kdgan_with_the_lstm_text_teacher_end_to_end(npz_build, tmp_path):
  """The builder's output -> KDGAN (T and D read fc7 features and the title + description
  tokens through an LSTM) -> an exported classifier that takes image features only."""
  import gin  # pylint: disable=g-import-not-at-top
  from kdgan_tf import experiment  # pylint: disable=g-import-not-at-top
  from kdgan_tf.config import parse_config  # pylint: disable=g-import-not-at-top
  from kdgan_tf.export.tflite import SIGNATURE, _interpreter  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  try:
    parse_config(["yfcc100m.gin", "kdgan.gin"], [
        "run_experiment.game_epochs = 1", "run_experiment.batch_size = 5",
        "classifier/player_settings.pretrain_epochs = 1",
        "teacher/player_settings.pretrain_epochs = 1",
        "discriminator/player_settings.pretrain_epochs = 1", "mlp_classifier.hidden_units = (8,)",
        "privileged_scorer.projection_units = 8", "privileged_scorer.hidden_units = (8,)",
        "privileged_scorer.embedding_dim = 4", "KDGAN.num_negatives = 2", "KDGAN.d_passes = 1",
        "concrete_pathwise.num_samples = 2"])
    record = experiment.run_experiment(str(tmp_path / "kdgan"), log=lambda m: None,
                                       dataset_fn=lambda: npz_build["splits"])
  finally:
    gin.clear_config()
  assert record["finished"] and record["dataset"].startswith("yfcc100m_")
  assert record["player_views"] == {"classifier": ["image"], "teacher": ["image", "text"],
                                    "discriminator": ["image", "text"]}
  signature = _interpreter(str(tmp_path / "kdgan" / "classifier.tflite")).get_signature_list()
  assert signature[SIGNATURE]["inputs"] == ["images"]
  assert record["export"]["tflite_agreement"] >= 0.999
