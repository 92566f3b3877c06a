"""Subset and validation selection, the tfds loader, augmentation and the pipeline."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kdgan_tf.data import Split, make_split_indices, pipeline
from kdgan_tf.data.augment import random_affine
from kdgan_tf.data.image_classification import load_image_classification
from kdgan_tf.errors import DataNotFoundError, UserError

LABELS = np.repeat(np.arange(10), 50)  # 500 examples, 50 per class


def test_stratified_subset_is_balanced_disjoint_and_seeded():
  train, val = make_split_indices(LABELS, n=100, validation_size=200, seed=3)
  assert len(train) == 100 and len(val) == 200
  assert not set(train) & set(val)
  np.testing.assert_array_equal(np.bincount(LABELS[train], minlength=10), np.full(10, 10))
  again, _ = make_split_indices(LABELS, n=100, validation_size=200, seed=3)
  other, _ = make_split_indices(LABELS, n=100, validation_size=200, seed=4)
  np.testing.assert_array_equal(train, again)
  assert set(train) != set(other)


def test_stratified_subset_spreads_the_remainder():
  train, _ = make_split_indices(LABELS, n=13, validation_size=0, seed=0)
  assert sorted(np.bincount(LABELS[train], minlength=10)) == [1] * 7 + [2] * 3


def test_last_rule_takes_the_last_n_in_file_order():
  train, val = make_split_indices(LABELS, n=30, validation_size=100, rule="last", seed=0)
  np.testing.assert_array_equal(np.sort(train), np.arange(470, 500))
  assert not set(train) & set(val) and len(val) == 100


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=450, validation_size=100), "exceeds the 500 training images"),
    (dict(n=0, validation_size=10), "n must be positive"),
    (dict(n=10, validation_size=10, rule="first"), "subset_rule must be one of"),
])
def test_bad_subset_requests_fail_with_a_clear_message(kwargs, message):
  with pytest.raises(UserError, match=message):
    make_split_indices(LABELS, **kwargs)


def test_tfds_loader_scales_pixels_and_keeps_test_apart():
  with tfds.testing.mock_data(num_examples=300):
    splits = load_image_classification(name="mnist", n=50, validation_size=60, subset_seed=1)
  images = splits.train.views["image"]
  assert splits.view_names == ("image",) and not splits.multi_label
  assert images.shape == (50, 28, 28, 1) and images.dtype == np.float32
  assert 0.0 <= images.min() and images.max() <= 1.0
  assert len(splits.val) == 60 and len(splits.test) == 300
  assert splits.num_classes == 10 and splits.train.labels.dtype == np.int32


def test_n_larger_than_the_data_is_a_clear_error():
  with tfds.testing.mock_data(num_examples=100):
    with pytest.raises(UserError, match="larger than the 100 training images"):
      load_image_classification(name="mnist", n=200, validation_size=0)


def test_missing_tfds_data_names_the_variable_to_set(tmp_path):
  with pytest.raises(DataNotFoundError, match="set TFDS_DATA_DIR"):
    load_image_classification(name="mnist", n=10, data_dir=str(tmp_path))


def test_random_affine_is_identity_at_zero_ranges_and_seeded_otherwise():
  images = tf.random.stateless_uniform([4, 28, 28, 1], seed=[0, 1])
  same = random_affine(images, tf.constant([1, 2]), rotation_degrees=0.0, shift_fraction=0.0,
                       zoom_fraction=0.0)
  np.testing.assert_allclose(same.numpy(), images.numpy(), atol=1e-5)
  a = random_affine(images, tf.constant([1, 2]))
  b = random_affine(images, tf.constant([1, 2]))
  c = random_affine(images, tf.constant([1, 3]))
  np.testing.assert_array_equal(a.numpy(), b.numpy())
  assert a.shape == images.shape and not np.allclose(a.numpy(), c.numpy())


def test_random_affine_shift_moves_content_by_the_expected_pixels():
  image = np.zeros([1, 28, 28, 1], np.float32)
  image[0, 14, 14, 0] = 1.0
  # stateless uniform in [-1, 1] is fixed by the seed: compute the shift it implies.
  u = tf.random.stateless_uniform([1, 5], seed=[5, 5], minval=-1.0, maxval=1.0).numpy()[0]
  out = random_affine(tf.constant(image), tf.constant([5, 5]), rotation_degrees=0.0,
                      zoom_fraction=0.0, shift_fraction=0.1).numpy()[0, ..., 0]
  y, x = np.unravel_index(np.argmax(out), out.shape)
  assert abs(x - (14 + u[1] * 2.8)) <= 1.0 and abs(y - (14 + u[2] * 2.8)) <= 1.0


def test_training_batches_have_fixed_shapes_and_depend_on_the_epoch_only():
  base = pipeline.base_dataset(Split({"image": np.arange(25, dtype=np.float32)},
                                     np.zeros(25, np.int32)))

  def first_batches(epoch):
    ds = pipeline.training_batches(base, 25, 10, seed=1, stream=epoch)
    return [b[0]["image"].numpy().tolist() for b in ds.take(4)]

  batches = first_batches(0)
  assert all(len(b) == 10 for b in batches)
  assert first_batches(0) == batches and first_batches(1) != batches
