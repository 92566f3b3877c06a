"""Pretraining: each player trained alone as an ordinary classifier (Algorithm 1, line 1)."""
import tensorflow as tf

from kdgan_tf.trainers.base import split_seed


def supervised_step(model, optimizer, global_batch_size, augment, task, select):
  """A step of the task's supervised loss (softmax cross-entropy against the true label
  distribution) plus weight decay; returns a per-replica step function.

  Args:
    augment: (features, seed) -> features (`views.augmenter`).
    task: kdgan_tf/tasks.py object (its `supervised_loss`).
    select: features -> the model's input (`views.selector`).
  """

  def step(features, labels, seed):
    (aug_seed,) = split_seed(seed, 1)
    x = select(augment(features, aug_seed))
    with tf.GradientTape() as tape:
      logits = model(x, training=True)
      loss = tf.nn.compute_average_loss(task.supervised_loss(labels, logits),
                                        global_batch_size=global_batch_size)
      total = loss
      if model.losses:
        total += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
    grads = tape.gradient(total, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return {"loss": loss}

  return step
