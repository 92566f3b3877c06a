"""The ordinary classification loss used for pretraining (Algorithm 1, first line)."""
import tensorflow as tf


def cross_entropy(labels, logits):
  """Softmax cross-entropy per example. labels: [B] int class ids; logits: [B, K]."""
  return tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.cast(labels, tf.int32), logits=logits)
