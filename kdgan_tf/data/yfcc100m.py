"""YFCC100M image tag recommendation (KDGAN paper, section 4.2) as a tensorflow-datasets builder.

Importing this module registers the builder `yfcc100m_tagrec` with tfds (configs `top200` and
`rnd200`); `load_yfcc100m` returns it as `DataSplits` (views "image" = VGG16 fc7 image
features and "text" = token ids of title + description; multi-hot tags; kdgan_tf/data/splits.py).

YFCC100M is distributed under the Yahoo Webscope terms, so the download is MANUAL: the user
puts the files listed in `Yfcc100mTagrec.MANUAL_DOWNLOAD_INSTRUCTIONS` into `manual_dir`.

How the pool, tag vocabulary, split, text and features are built, what the paper says
and where the authors' code differed (and why we follow the paper): docs/yfcc100m.md. Every
choice the paper leaves open is a `Yfcc100mConfig` field.
"""
import bz2
import collections
import dataclasses
import gzip
import hashlib
import inspect
import json
import os
import re
import urllib.parse

import gin
import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from kdgan_tf.data import image_features
# The text side (step 5 in docs/yfcc100m.md), re-exported: yfcc100m.tokenize_text etc.
from kdgan_tf.data.yfcc100m_text import (PAD, UNK, build_vocabulary, encode_tokens,  # noqa: F401
                                         parse_tags, photo_text, tokenize_text)
from kdgan_tf.data.splits import DataSplits, Split, drop_untagged, validate
from kdgan_tf.errors import DataNotFoundError, UserError

# The public yfcc100m_dataset metadata layout: one photo/video per line, 23 tab-separated
# fields. Title, description and user tags are URL-encoded ('+' for a space); user tags are
# comma-separated. Only the columns named below are read.
NUM_COLUMNS = 23
COL_ID = 0           # photo/video identifier
COL_USER = 1         # user NSID (not used for the split; kept for documentation)
COL_TITLE = 6        # title (URL-encoded)
COL_DESCRIPTION = 7  # description (URL-encoded, may hold HTML)
COL_USER_TAGS = 8    # user tags (comma-separated, URL-encoded)
COL_DOWNLOAD_URL = 14  # photo/video download URL (where a user can fetch images/<id>.jpg)
COL_MARKER = 22      # 0 = photo, 1 = video

METADATA_FILENAMES = ("yfcc100m_dataset", "yfcc100m_dataset.tsv", "yfcc100m_dataset.txt",
                      "yfcc100m_dataset.bz2", "yfcc100m_dataset.gz")
IMAGES_DIRNAME = "images"
FEATURES_FILENAME = "features.npz"
FEATURE_DIM = image_features.FC7_DIM
DEFAULT_SPLIT_SEED = 100  # the authors' split shuffle seed
DEFAULT_TAG_SEED = 0

MANUAL_DOWNLOAD_INSTRUCTIONS = """\
YFCC100M is distributed under the Yahoo Webscope terms (https://webscope.sandbox.yahoo.com/,
dataset "YFCC100M"); request access and put into `manual_dir`:
  * the metadata file `yfcc100m_dataset` (optionally .bz2 or .gz compressed): one photo/video
    per line, the 23 tab-separated fields of the public layout (photo/video id, user nsid, user
    nickname, date taken, date uploaded, capture device, title, description, user tags, machine
    tags, longitude, latitude, accuracy, page URL, download URL, license name, license URL,
    server id, farm id, secret, secret original, extension, marker). A subset of its lines
    (e.g. those of the photos you downloaded) is fine.
  * for every photo that may be used, EITHER its image `images/<photo id>.jpg` (downloaded from
    the row's download URL, field 15) OR its VGG16 fc7 feature in `features.npz`, with arrays
    `ids` (photo ids, [N]) and `features` (float [N, 4096]). Photos with neither are skipped;
    `features.npz` wins when a photo has both. (The whole `features` array is read into memory
    while the dataset is prepared.)
"""


@dataclasses.dataclass
class Yfcc100mConfig(tfds.core.BuilderConfig):
  """A YFCC100M tag-recommendation dataset; every field is described in docs/yfcc100m.md."""
  tag_selection: str = "top"  # "top" (most popular) or "random"
  num_tags: int = 200
  num_train: int = 20000      # training photos, the validation split included
  num_val: int = 2000         # carved from the num_train training photos
  num_test: int = 2000
  min_tag_count: int = 10     # "random": candidate tags occur in >= this many pool photos
  tag_seed: int = DEFAULT_TAG_SEED
  split_seed: int = DEFAULT_SPLIT_SEED
  exclude_tags: tuple = ()
  tag_pattern: str = None     # regex a tag must fully match to be chosen (None: any tag)
  max_text_length: int = 64
  min_word_count: int = 1
  vgg_weights: str = "imagenet"  # None: random weights (tests only)
  feature_batch_size: int = 32


def find_metadata_file(manual_dir):
  """The metadata file in manual_dir, or None."""
  if not manual_dir:
    return None
  for name in METADATA_FILENAMES:
    path = os.path.join(os.fspath(manual_dir), name)
    if os.path.isfile(path):
      return path
  return None


def _has_image_sources(manual_dir):
  return (os.path.isfile(os.path.join(manual_dir, FEATURES_FILENAME))
          or os.path.isdir(os.path.join(manual_dir, IMAGES_DIRNAME)))


def _open_text(path):
  if path.endswith(".bz2"):
    return bz2.open(path, "rt", encoding="utf-8", errors="replace", newline="\n")
  if path.endswith(".gz"):
    return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="\n")
  return open(path, "rt", encoding="utf-8", errors="replace", newline="\n")


def _missing_data_message(manual_dir, data_dir):
  return (f"YFCC100M tag-recommendation data is neither prepared in data_dir {data_dir!r} nor "
          f"buildable from manual_dir {manual_dir!r}: set manual_dir (gin: "
          "load_yfcc100m.manual_dir) to a folder holding the metadata file yfcc100m_dataset plus "
          "images/<photo id>.jpg files or a features.npz (ids, features), and data_dir to where "
          "the prepared dataset goes.")


class Yfcc100mTagrec(tfds.core.GeneratorBasedBuilder):
  """YFCC100M image tag recommendation with title/description text as privileged information."""

  name = "yfcc100m_tagrec"
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: paper-sized top200 / rnd200 configs."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
  BUILDER_CONFIGS = [
      Yfcc100mConfig(name="top200", tag_selection="top",
                     description="The 200 most popular tags; 18k train, 2k val, 2k test."),
      Yfcc100mConfig(name="rnd200", tag_selection="random",
                     description="200 tags sampled with seed 0 from tags in >= 10 photos; "
                                 "18k train, 2k val, 2k test."),
  ]
  DEFAULT_CONFIG_NAME = "top200"

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls):
    """This file. (tfds's default probes `importlib_resources`, which some environments lack.)"""
    return epath.Path(inspect.getfile(cls))

  def _info(self):
    c = self.builder_config
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__.split("\n\n")[0],
        features=tfds.features.FeaturesDict({
            "image_feature": tfds.features.Tensor(shape=(FEATURE_DIM,), dtype=np.float32,
                                                  encoding=tfds.features.Encoding.ZLIB),
            "text": tfds.features.Tensor(shape=(c.max_text_length,), dtype=np.int32),
            "labels": tfds.features.Tensor(shape=(c.num_tags,), dtype=np.uint8),
            "photo_id": tfds.features.Text(),
        }),
        metadata=tfds.core.MetadataDict(),
        homepage="https://multimediacommons.wordpress.com/yfcc100m-core-dataset/",
        citation="""@article{thomee2016yfcc100m,
  title={YFCC100M: The new data in multimedia research},
  author={Thomee, Bart and Shamma, David A. and Friedland, Gerald and Elizalde, Benjamin and
          Ni, Karl and Poland, Douglas and Borth, Damian and Li, Li-Jia},
  journal={Communications of the ACM}, volume={59}, number={2}, pages={64--73}, year={2016}}
@inproceedings{wang2018kdgan,
  title={KDGAN: Knowledge Distillation with Generative Adversarial Networks},
  author={Wang, Xiaojie and Zhang, Rui and Sun, Yu and Qi, Jianzhong},
  booktitle={NeurIPS}, year={2018}}""",
    )

  # -- construction ------------------------------------------------------------------------

  def _split_generators(self, dl_manager):
    try:
      manual_dir = os.fspath(dl_manager.manual_dir)
    except AssertionError as e:
      where = str(getattr(dl_manager, "_manual_dir", None))
      raise DataNotFoundError(_missing_data_message(where, str(self.data_dir_root))) from e
    metadata_path = find_metadata_file(manual_dir)
    if metadata_path is None or not _has_image_sources(manual_dir):
      raise DataNotFoundError(_missing_data_message(manual_dir, str(self.data_dir_root)))
    c = self.builder_config
    self._check_config(c)

    features_npz = os.path.join(manual_dir, FEATURES_FILENAME)
    npz_rows = {}
    if os.path.isfile(features_npz):
      with np.load(features_npz, allow_pickle=False) as f:
        if "ids" not in f.files or "features" not in f.files:
          raise UserError(f"{features_npz} must hold the arrays `ids` and `features`.")
        npz_rows = {str(i): row for row, i in enumerate(f["ids"].tolist())}
    image_dir = os.path.join(manual_dir, IMAGES_DIRNAME)
    image_ids = set()
    if os.path.isdir(image_dir):
      image_ids = {e.name[:-4] for e in os.scandir(image_dir)
                   if e.name.endswith(".jpg") and e.is_file()}

    pool = self._read_pool(metadata_path, lambda i: i in npz_rows or i in image_ids)
    tag_counts = collections.Counter(t for _, tags, _ in pool for t in tags)
    tag_names = self._choose_tags(c, tag_counts)
    tag_index = {t: k for k, t in enumerate(tag_names)}

    candidates = []
    for photo_id, tags, text in pool:
      kept = [tag_index[t] for t in tags if t in tag_index]
      if kept:
        candidates.append((photo_id, kept, text))
    needed = c.num_train + c.num_test
    if len(candidates) < needed:
      raise UserError(
          f"{self.name}/{c.name}: only {len(candidates)} usable photos (photo, title or "
          f"description, an image or feature, >= 1 of the {c.num_tags} tags) in {manual_dir}, "
          f"but num_train + num_test = {needed} are needed; add images/features or lower them.")
    candidates.sort(key=lambda r: (len(r[0]), r[0]))
    order = np.random.RandomState(c.split_seed).permutation(len(candidates))[:needed]
    chosen = [candidates[i] for i in order]
    parts = {"test": chosen[:c.num_test], "validation": chosen[c.num_test:c.num_test + c.num_val],
             "train": chosen[c.num_test + c.num_val:]}
    parts = {s: sorted(rows, key=lambda r: (len(r[0]), r[0])) for s, rows in parts.items()}

    tokens = {s: [tokenize_text(r[2]) for r in rows] for s, rows in parts.items()}
    vocabulary = build_vocabulary(tokens["train"], c.min_word_count)
    word_index = {w: i for i, w in enumerate(vocabulary)}

    all_ids = [r[0] for s in ("train", "validation", "test") for r in parts[s]]
    feats = self._features(all_ids, npz_rows, features_npz, image_dir, c)

    self.info.metadata.update({
        "tag_names": tag_names,
        "vocabulary": vocabulary,
        "tag_counts": [int(tag_counts[t]) for t in tag_names],
        "pool_size": len(pool),
        "candidates": len(candidates),
        "metadata_file": os.path.basename(metadata_path),
    })

    def records(split):
      for row, ids in zip(parts[split], tokens[split]):
        labels = np.zeros(c.num_tags, np.uint8)
        labels[row[1]] = 1
        yield row[0], labels, encode_tokens(ids, word_index, c.max_text_length)

    return {split: self._generate_examples(records(split), feats)
            for split in ("train", "validation", "test")}

  def _generate_examples(self, records, feats):
    for photo_id, labels, text in records:
      yield photo_id, {"image_feature": feats[photo_id], "text": text, "labels": labels,
                       "photo_id": photo_id}

  @staticmethod
  def _check_config(c):
    if c.tag_selection not in ("top", "random"):
      raise UserError(f"tag_selection must be 'top' or 'random', got {c.tag_selection!r}.")
    for field in ("num_tags", "num_train", "num_val", "num_test", "max_text_length",
                  "min_word_count", "feature_batch_size"):
      if int(getattr(c, field)) < 1:
        raise UserError(f"{field} must be >= 1, got {getattr(c, field)}.")
    if c.num_val >= c.num_train:
      raise UserError(f"num_val ({c.num_val}) must be smaller than num_train ({c.num_train}).")

  @staticmethod
  def _read_pool(path, available):
    """[(photo id, tags, raw text)] of the usable photos, in file order (first row of an id)."""
    pool, seen = [], set()
    with _open_text(path) as f:
      for line_no, line in enumerate(f, 1):
        line = line.rstrip("\r\n")
        if not line:
          continue
        fields = line.split("\t")
        if len(fields) != NUM_COLUMNS:
          raise UserError(f"{path}:{line_no} has {len(fields)} tab-separated fields, expected "
                          f"{NUM_COLUMNS} (the yfcc100m_dataset layout).")
        photo_id = fields[COL_ID].strip()
        if fields[COL_MARKER].strip() != "0" or photo_id in seen or not available(photo_id):
          continue
        title, description = fields[COL_TITLE], fields[COL_DESCRIPTION]
        if not (urllib.parse.unquote_plus(title).strip()
                or urllib.parse.unquote_plus(description).strip()):
          continue
        tags = parse_tags(fields[COL_USER_TAGS])
        if not tags:
          continue
        seen.add(photo_id)
        pool.append((photo_id, tags, photo_text(title, description)))
    return pool

  @staticmethod
  def _choose_tags(c, tag_counts):
    pattern = re.compile(c.tag_pattern) if c.tag_pattern else None
    excluded = {t.lower() for t in c.exclude_tags}
    eligible = [t for t in tag_counts
                if t not in excluded and (pattern is None or pattern.fullmatch(t))]
    if c.tag_selection == "top":
      ranked = sorted(eligible, key=lambda t: (-tag_counts[t], t))
      chosen = ranked[:c.num_tags]
    else:
      ranked = sorted(t for t in eligible if tag_counts[t] >= c.min_tag_count)
      chosen = ([ranked[i] for i in np.random.RandomState(c.tag_seed).choice(
          len(ranked), c.num_tags, replace=False)] if len(ranked) >= c.num_tags else ranked)
    if len(chosen) < c.num_tags:
      raise UserError(f"{c.name}: only {len(chosen)} eligible tags for num_tags = {c.num_tags} "
                      f"(tag_selection={c.tag_selection!r}, min_tag_count={c.min_tag_count}).")
    return sorted(chosen)

  @staticmethod
  def _features(photo_ids, npz_rows, features_npz, image_dir, c):
    """{photo id: float32 [4096]}: features.npz rows, else VGG16 fc7 of images/<id>.jpg."""
    feats = {}
    from_npz = [i for i in photo_ids if i in npz_rows]
    if from_npz:
      with np.load(features_npz, allow_pickle=False) as f:
        table = f["features"]
      if table.ndim != 2 or table.shape[1] != FEATURE_DIM:
        raise UserError(f"{features_npz}: `features` has shape {table.shape}, expected "
                        f"[N, {FEATURE_DIM}] VGG16 fc7 features.")
      for i in from_npz:
        feats[i] = table[npz_rows[i]].astype(np.float32)
    from_images = [i for i in photo_ids if i not in npz_rows]
    if from_images:
      paths = [os.path.join(image_dir, f"{i}.jpg") for i in from_images]
      computed = image_features.extract_vgg16_fc7(paths, batch_size=c.feature_batch_size,
                                                  weights=c.vgg_weights)
      feats.update(zip(from_images, computed))
    return feats


def make_config(config="top200", config_overrides=None):
  """A Yfcc100mConfig: a registered config name or a config object, with field overrides.

  Overrides give a custom config named `<base>_<hash of the overrides>`, so its prepared data
  never mixes with the base config's.
  """
  if isinstance(config, str):
    named = {c.name: c for c in Yfcc100mTagrec.BUILDER_CONFIGS}
    if config not in named:
      raise UserError(f"YFCC100M config must be one of {sorted(named)} or a Yfcc100mConfig, "
                      f"got {config!r}.")
    config = named[config]
  elif not isinstance(config, Yfcc100mConfig):
    raise UserError(f"config must be a config name or a Yfcc100mConfig, got {config!r}.")
  if config_overrides:
    fields = {f.name for f in dataclasses.fields(Yfcc100mConfig)} - {"name"}
    unknown = sorted(set(config_overrides) - fields)
    if unknown:
      raise UserError(f"unknown YFCC100M config fields {unknown}; known: {sorted(fields)}.")
    digest = hashlib.sha1(json.dumps(sorted(config_overrides.items()), default=str)
                          .encode()).hexdigest()[:8]
    overrides = dict(config_overrides)
    if "exclude_tags" in overrides:
      overrides["exclude_tags"] = tuple(overrides["exclude_tags"])
    config = dataclasses.replace(config, name=f"{config.name}_{digest}", **overrides)
  return config


def _split_arrays(builder, split):
  x, p, y = [], [], []
  for batch in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False).batch(4096)):
    x.append(batch["image_feature"])
    p.append(batch["text"])
    y.append(batch["labels"])
  c = builder.builder_config
  if not y:
    return Split({"image": np.zeros((0, FEATURE_DIM), np.float32),
                  "text": np.zeros((0, c.max_text_length), np.int32)},
                 np.zeros((0, c.num_tags), np.uint8))
  return Split({"image": np.concatenate(x).astype(np.float32),
                "text": np.concatenate(p).astype(np.int32)}, np.concatenate(y).astype(np.uint8))


@gin.configurable
def load_yfcc100m(config="top200", data_dir=None, manual_dir=None, config_overrides=None):
  """YFCC100M tag recommendation as `DataSplits` (views "image": fc7 [N, 4096] float32 and
  "text": token ids [N, max_text_length] int32, 0 = padding; labels multi-hot [N, num_tags]
  uint8), prepared on first use.

  Args:
    config: "top200", "rnd200" or a Yfcc100mConfig (e.g. a tiny one in tests).
    data_dir: where tfds keeps prepared datasets (default: TFDS_DATA_DIR or
      ~/tensorflow_datasets).
    manual_dir: the folder with the manually downloaded files (see
      Yfcc100mTagrec.MANUAL_DOWNLOAD_INSTRUCTIONS); default <data_dir>/downloads/manual.
    config_overrides: optional {field: value} applied to `config` (gin-friendly way to change
      sizes, seeds, ...).
  """
  cfg = make_config(config, config_overrides)
  builder = Yfcc100mTagrec(config=cfg, data_dir=data_dir)
  if not builder.is_prepared():
    manual = os.fspath(manual_dir) if manual_dir else os.path.join(
        os.fspath(builder.data_dir_root), "downloads", "manual")
    if find_metadata_file(manual) is None or not _has_image_sources(manual):
      raise DataNotFoundError(_missing_data_message(manual, os.fspath(builder.data_dir_root)))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual))
  meta = builder.info.metadata
  tag_names = [str(t) for t in meta["tag_names"]]
  splits = DataSplits(
      train=drop_untagged(_split_arrays(builder, "train")),
      val=_split_arrays(builder, "validation"), test=_split_arrays(builder, "test"),
      num_classes=len(tag_names), name=f"yfcc100m_{cfg.name}", label_names=tag_names,
      vocabularies={"text": [str(w) for w in meta["vocabulary"]]})
  return validate(splits)
