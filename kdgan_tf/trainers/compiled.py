"""The two kinds of `tf.function` the loop runs: many training steps per call, and one
player's scores over a whole split.

Why many steps per call: Python then runs once per pass over the data, not once per step (at
MNIST's n = 100 a step is ~1 ms of work and a Python round trip costs as much). Under any
`tf.distribute` strategy the per-replica results are reduced explicitly (SUM of losses that
were already averaged over the global batch), and each step's seed is (seed, counter) with the
replica id folded in, so the randomness survives a kill and resume.
"""
import tensorflow as tf


def multi_step_function(strategy, seed, counter, step_fn):
  """A tf.function `run(iterator, num_steps)` running `num_steps` steps of the per-replica
  `step_fn(features, labels, seed) -> {name: loss}` and returning each name's mean.

  Args:
    seed: the run's integer seed.
    counter: an int64 tf.Variable, incremented once per step (checkpointed by the caller).
  """
  base = tf.constant(int(seed), tf.int64)

  def replica_step(features, labels, step_seed):
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    return step_fn(features, labels, tf.random.experimental.stateless_fold_in(step_seed, replica))

  def one_step(iterator):
    step_seed = tf.stack([base, counter.read_value()])
    counter.assign_add(1)
    features, labels = next(iterator)
    per_replica = strategy.run(replica_step, args=(features, labels, step_seed))
    return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
            for k, v in per_replica.items()}

  @tf.function
  def run(iterator, num_steps):
    totals = one_step(iterator)
    for _ in tf.range(num_steps - 1):
      out = one_step(iterator)
      totals = {k: totals[k] + out[k] for k in totals}
    return {k: v / tf.cast(num_steps, v.dtype) for k, v in totals.items()}

  return run


def split_scores_function(strategy, model, select, label_dtype):
  """A tf.function `run(distributed_dataset) -> (logits, labels)` of `model` (inference mode) on
  a whole split, gathered from every replica in matching order.

  Args:
    select: features -> the model's input (`views.selector`).
    label_dtype: dtype of the split's labels (int for one label, float for multi-hot tags).
  """

  @tf.function
  def run(dataset):
    scores = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False)
    labels = tf.TensorArray(label_dtype, size=0, dynamic_size=True, infer_shape=False)
    i = 0
    for features, batch_labels in dataset:
      logits = strategy.run(lambda f: model(select(f), training=False), args=(features,))
      scores = scores.write(i, strategy.gather(logits, axis=0))
      labels = labels.write(i, strategy.gather(batch_labels, axis=0))
      i += 1
    return scores.concat(), labels.concat()

  return run
