"""Label sampling: categorical draws and the concrete (Gumbel-softmax) relaxation.

Everything takes a stateless seed (an int [2] tensor) so sampling is inside the graph,
reproducible, and independent per replica and per step (the trainer derives the seeds).
`gumbel_softmax_sample` is a plain-TF fallback for TFP's `RelaxedOneHotCategorical` (TFP is no
longer actively released); tests check that the two agree in distribution.
"""
import tensorflow as tf

_TINY = 1e-20


def sample_labels(logits, num_samples, seed):
  """Draws `num_samples` labels per example from softmax(logits), as one-hot vectors.

  Args:
    logits: [B, K].
    num_samples: S, a Python int.
    seed: int [2] stateless seed.
  Returns:
    [B, S, K] float one-hot labels (no gradient).
  """
  ids = tf.random.stateless_categorical(tf.stop_gradient(logits), num_samples, seed=seed)
  return tf.one_hot(ids, tf.shape(logits)[-1], dtype=logits.dtype)


def gumbel_softmax_sample(logits, temperature, num_samples, seed):
  """Concrete sample softmax((log p + g) / tau), g ~ Gumbel(0, 1) (paper Eq. 9); reparameterised.

  Args:
    logits: [B, K] (any shift of log p; softmax ignores it).
    temperature: scalar tau > 0.
    num_samples: S.
    seed: int [2] stateless seed.
  Returns:
    [B, S, K] relaxed one-hot samples; gradients flow to `logits`.
  """
  shape = tf.concat([tf.shape(logits)[:1], [num_samples], tf.shape(logits)[1:]], axis=0)
  u = tf.random.stateless_uniform(shape, seed=seed, minval=0.0, maxval=1.0, dtype=logits.dtype)
  gumbel = -tf.math.log(-tf.math.log(u + _TINY) + _TINY)
  log_p = tf.nn.log_softmax(logits, axis=-1)
  return tf.nn.softmax((log_p[:, None, :] + gumbel) / temperature, axis=-1)
