"""What differs between single-label classification and multi-label tagging, in one object.

The loop and every method are task-agnostic: they ask the task for
  * `supervised_loss(labels, logits)`: per-example loss of a generator on its labels;
  * `true_distribution(labels)`: u = p_u(y|x), the distribution of an example's true labels
    (one-hot for a class id, uniform over the true tags for multi-hot labels);
  * `sample_true(labels, seed)`: the label of D's true pair, y ~ p_u(y|x) (paper section 3; the
    authors' tag code draws positives uniformly over the image's true tags, facts section 5.3);
  * `evaluate(scores, labels)`: the evaluation measures, and `selection_metric`, the one of them
    whose validation value selects the reported epoch (gin: `single_label_task.selection_metric`,
    `multi_label_task.selection_metric`).
The generators C and T are softmax distributions p(y|x) over the K labels in both tasks, so the
adversarial game, the sampling and the distillation losses are the same code.

Multi-label choices (written here so they are visible): the supervised loss is the softmax
cross-entropy against u, E_{y ~ p_u}[-log p(y|x)], which makes C a label distribution as the
game needs; the authors' tag code used a sigmoid cross-entropy against u instead (facts 5.2).
Evaluation uses kdgan_tf/tagrec/metrics.py (ties: lower tag index first), the same module the
tag baselines are scored with.
"""
import gin
import numpy as np
import tensorflow as tf

from kdgan_tf.errors import UserError
from kdgan_tf.losses import cross_entropy
from kdgan_tf.tagrec import metrics as tag_metrics

TAG_METRICS = ("P@3", "P@5", "F@3", "F@5", "F@3_authors", "F@5_authors", "MAP", "MRR")


class _Task:
  """The number of classes and a selection metric that must be one of `metric_names`."""

  name, metric_names = "task", ()

  def __init__(self, num_classes, selection_metric):
    self.num_classes = int(num_classes)
    if selection_metric not in self.metric_names:
      raise UserError(f"{self.name}_task.selection_metric = {selection_metric!r} is not one of "
                      f"{list(self.metric_names)}.")
    self.selection_metric = selection_metric


class SingleLabel(_Task):
  """Class ids [B] (int32); accuracy of the argmax."""

  name = "single_label"
  metric_names = ("accuracy",)

  def __init__(self, num_classes, selection_metric="accuracy"):
    super().__init__(num_classes, selection_metric)

  def supervised_loss(self, labels, logits):
    return cross_entropy(labels, logits)

  def true_distribution(self, labels):
    return tf.one_hot(labels, self.num_classes)

  def sample_true(self, labels, seed):
    del seed  # one true label per example: nothing to draw
    return tf.one_hot(labels, self.num_classes)

  def evaluate(self, scores, labels):
    scores, labels = np.asarray(scores), np.asarray(labels)
    return {"accuracy": float(np.mean(np.argmax(scores, axis=-1) == labels))}


class MultiLabel(_Task):
  """Multi-hot tags [B, K] (float 0/1, at least one per example); Table 2's ranking measures."""

  name = "multi_label"
  metric_names = TAG_METRICS

  def __init__(self, num_classes, selection_metric="P@3"):
    super().__init__(num_classes, selection_metric)

  def true_distribution(self, labels):
    labels = tf.cast(labels, tf.float32)
    return labels / tf.maximum(tf.reduce_sum(labels, axis=-1, keepdims=True), 1.0)

  def supervised_loss(self, labels, logits):
    return -tf.reduce_sum(self.true_distribution(labels) * tf.nn.log_softmax(logits), axis=-1)

  def sample_true(self, labels, seed):
    u = self.true_distribution(labels)
    log_u = tf.where(u > 0, tf.math.log(tf.maximum(u, 1e-30)), tf.fill(tf.shape(u), -1e9))
    draws = tf.random.stateless_categorical(log_u, 1, seed)[:, 0]
    return tf.one_hot(draws, self.num_classes)

  def evaluate(self, scores, labels):
    measures = tag_metrics.evaluate(np.asarray(scores, np.float64),
                                    np.asarray(labels).astype(np.uint8), cutoffs=(3, 5))
    return {k: measures[k] for k in self.metric_names}


@gin.configurable
def single_label_task(num_classes, selection_metric="accuracy"):
  return SingleLabel(num_classes, selection_metric)


@gin.configurable
def multi_label_task(num_classes, selection_metric="P@3"):
  return MultiLabel(num_classes, selection_metric)


def task_for(splits):
  """The task of a dataset, from its labels: class ids -> single-label, multi-hot -> tagging."""
  if splits.multi_label:
    return multi_label_task(splits.num_classes)
  return single_label_task(splits.num_classes)
