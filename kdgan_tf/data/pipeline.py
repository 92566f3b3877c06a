"""tf.data pipelines: cached, shuffled per epoch with a derived seed, fixed batch shapes.

A fresh shuffle seed per epoch (seed, epoch) makes the batch order a function of the epoch only,
so a run resumed from a checkpoint sees exactly the batches an uninterrupted run would.
"""
import tensorflow as tf


def base_dataset(images, labels):
  """In-memory, cached dataset of (image, label) pairs."""
  return tf.data.Dataset.from_tensor_slices((images, labels)).cache()


def training_batches(base, num_examples, batch_size, seed, epoch):
  """An infinite stream of shuffled fixed-size batches for one epoch's worth of steps."""
  if batch_size > num_examples:
    raise ValueError(f"batch_size {batch_size} exceeds the {num_examples} training images.")
  return (base.shuffle(num_examples, seed=seed * 100003 + epoch, reshuffle_each_iteration=True)
          .repeat().batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))


def evaluation_batches(base, batch_size):
  """Ordered batches covering every example exactly once."""
  return base.batch(batch_size).prefetch(tf.data.AUTOTUNE)
