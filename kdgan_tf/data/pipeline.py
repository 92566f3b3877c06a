"""tf.data pipelines: cached, shuffled per epoch with a derived seed, fixed batch shapes.

Each (phase, epoch) gets its own stream number and hence its own shuffle seed, so the batch order
is a function of (seed, stream) only: a run resumed from a checkpoint sees exactly the batches an
uninterrupted run would.
"""
import numpy as np
import tensorflow as tf


def base_dataset(split, index_key=None):
  """In-memory, cached dataset of (features {view: tensor}, labels) pairs of a `Split`.
  Multi-hot labels become float32 (the losses' dtype); class ids stay int32. `index_key`: also
  give each example's position in the split under that feature name (trainers/frozen_logits.py
  looks up stored logits by it); shuffling orders the examples the same either way."""
  labels = split.labels.astype(np.float32) if split.labels.ndim == 2 else split.labels
  features = dict(split.views)
  if index_key:
    features[index_key] = np.arange(len(labels), dtype=np.int32)
  return tf.data.Dataset.from_tensor_slices((features, labels)).cache()


def training_batches(base, num_examples, batch_size, seed, stream):
  """An infinite stream of shuffled fixed-size batches; `stream` numbers the (phase, epoch)."""
  if batch_size > num_examples:
    raise ValueError(f"batch_size {batch_size} exceeds the {num_examples} training images.")
  shuffle_seed = (seed * 1_000_000_007 + stream) % (2**63 - 1)
  return (base.shuffle(num_examples, seed=shuffle_seed, reshuffle_each_iteration=True)
          .repeat().batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))


def evaluation_batches(base, batch_size):
  """Ordered batches covering every example exactly once."""
  return base.batch(batch_size).prefetch(tf.data.AUTOTUNE)
