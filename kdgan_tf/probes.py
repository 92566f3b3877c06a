"""Measurements taken between game epochs that never change the training trajectory.

`gradient_variance_probe` measures what the paper's Figure 7 plots: the variance of the
classifier's gradient coming from the discriminator (its adversarial term, under each
gradient estimator) and from the teacher (its distillation term), all measured the same way:
  * on `num_batches` mini-batches of `batch_size` training images drawn with a stateless seed
    from (run seed, epoch), each gradient estimated once per mini-batch with its own samples;
  * with respect to every trainable parameter of C, unweighted by alpha or beta;
  * reported as the mean over parameters of the per-parameter variance across mini-batches
    (`var_grad_<source>`), beside the mean over parameters of the squared mean gradient
    (`sqmean_grad_<source>`), so a small variance can be told from a small gradient.
Every model runs in inference mode, so no dropout seed state advances and the run's metrics are
identical with and without the probe (a test checks this).
Enable it with `run_experiment.epoch_probe = @gradient_variance_probe`; its numbers land in each
game epoch of metrics.json as `var_grad_d_<estimator>` and `var_grad_t` (and `sqmean_grad_*`).

`discriminator_scores_probe` measures what D tells C on the training images: D's pair score
p_d(x, y) of the true label against the best-scored wrong label, and how much of C's mass sits
on the true label and on one label overall (a collapse onto one label shows there first).
It explains a game that wrecks C (README, "Why NaGAN collapses"). Inference mode, as above.

A probe is called after each game epoch's training as
`probe(models, images, tau, seed, epoch, labels=labels)` with the n training images and labels
and returns {metric: float}; the metrics join that epoch's entry in metrics.json. A probe
that cannot take this call is refused when the run starts (`check_probe`), not an hour in.
"""
import inspect

import gin
import tensorflow as tf

from kdgan_tf.errors import UserError
from kdgan_tf.estimators import concrete_pathwise, reinforce
from kdgan_tf.losses import l2_logits


def check_probe(probe):
  """Raises UserError at the start of a run when `probe` cannot take the loop's call.

  Why: a probe is first called after pretraining and one game epoch, which can be an hour in;
  a user's probe written without `labels` should fail before that, with what to change.
  """
  try:
    signature = inspect.signature(probe)
  except (TypeError, ValueError):  # a callable without a signature: only the call can tell
    return
  try:
    signature.bind(None, None, None, None, None, labels=None)
  except TypeError as error:
    name = getattr(probe, "__name__", repr(probe))
    raise UserError(
        f"run_experiment.epoch_probe = {name}: the loop calls it as probe(models, images, tau, "
        f"seed, epoch, labels=labels) (kdgan_tf/probes.py), which {name}{signature} cannot take "
        f"({error}); add the missing parameters, e.g. `labels=None`.") from None


def _flat(grads):
  return tf.concat([tf.reshape(g, [-1]) for g in grads], axis=0)


@gin.configurable
def gradient_variance_probe(models, images, tau, seed, epoch, labels=None, num_batches=20,
                            batch_size=10, estimators=(concrete_pathwise, reinforce),
                            distill_loss=l2_logits):
  """Returns {metric: variance} for the sources the method has (needs C; D and/or T).
  `labels` are not needed: every source's gradient is label-free."""
  del labels
  c = models.get("classifier")
  d, t = models.get("discriminator"), models.get("teacher")
  if c is None or (d is None and t is None):
    return {}
  variables = c.trainable_variables
  sources = [(f"var_grad_d_{e.__name__}", e) for e in (estimators if d is not None else ())]
  if t is not None:
    sources.append(("var_grad_t", None))
  n = int(images.shape[0])
  batch_size = min(int(batch_size), n)
  totals = {name: [tf.zeros([sum(int(tf.size(v)) for v in variables)]),
                   tf.zeros([sum(int(tf.size(v)) for v in variables)])] for name, _ in sources}
  for b in range(int(num_batches)):
    step_seed = tf.random.experimental.stateless_fold_in(
        tf.constant([int(seed), int(epoch)], tf.int64), b)
    pick_seed, sample_seed = tf.unstack(tf.random.experimental.stateless_split(step_seed, 2))
    order = tf.argsort(tf.random.stateless_uniform([n], pick_seed))[:batch_size]
    x = tf.gather(images, order)
    grads = _probe_gradients(c, d, t, x, tau, sample_seed, tuple(sources), distill_loss)
    for name, g in zip([s[0] for s in sources], grads):
      totals[name][0] += g
      totals[name][1] += tf.square(g)
  out = {}
  for name, (s1, s2) in totals.items():
    mean = s1 / num_batches
    variance = tf.maximum(s2 / num_batches - tf.square(mean), 0.0)
    out[name] = float(tf.reduce_mean(variance))
    out["sqmean" + name[len("var"):]] = float(tf.reduce_mean(tf.square(mean)))
  return out


def _probe_gradients(c, d, t, x, tau, seed, sources, distill_loss):
  d_logits = d(x, training=False) if d is not None else None
  t_logits = t(x, training=False) if t is not None else None
  grads = []
  for name, estimator in sources:
    with tf.GradientTape() as tape:
      logits = c(x, training=False)
      if estimator is not None:
        loss = tf.reduce_mean(estimator(logits, d_logits, tau, seed).surrogate)
      else:
        loss = tf.reduce_mean(distill_loss(logits, t_logits))
    grads.append(_flat(tape.gradient(loss, c.trainable_variables)))
    del name
  return grads


@gin.configurable
def discriminator_scores_probe(models, images, tau, seed, epoch, labels=None, batch_size=1000):
  """D's pair scores and C's label mass on the training images (needs C, D and the labels):
    d_true_score        mean p_d(x, y) of the true label y;
    d_top_wrong_score   mean over images of the highest p_d(x, k), k != y;
    d_wrong_above_true  share of images where some wrong label scores above the true one;
    c_true_mass         mean p_c(y | x);
    c_top_label_share   the largest fraction of images that C's argmax assigns to one label.
  """
  del tau, seed, epoch
  c, d = models.get("classifier"), models.get("discriminator")
  if c is None or d is None or labels is None:
    return {}
  logits = lambda model: tf.concat([model(images[i:i + batch_size], training=False)
                                    for i in range(0, int(images.shape[0]), batch_size)], 0)
  return discriminator_scores(logits(d), logits(c), labels)


def discriminator_scores(d_logits, c_logits, labels):
  """The pure part of `discriminator_scores_probe`, from logits [N, K] and labels [N]."""
  num_classes = int(d_logits.shape[-1])
  true = tf.one_hot(labels, num_classes, dtype=d_logits.dtype)
  scores = tf.sigmoid(d_logits)
  true_score = tf.reduce_sum(scores * true, axis=-1)
  top_wrong = tf.reduce_max(scores - 2.0 * true, axis=-1)  # the true label drops out (< 0)
  predicted = tf.argmax(c_logits, axis=-1, output_type=tf.int32)
  counts = tf.math.bincount(predicted, minlength=num_classes, maxlength=num_classes)
  return {
      "d_true_score": float(tf.reduce_mean(true_score)),
      "d_top_wrong_score": float(tf.reduce_mean(top_wrong)),
      "d_wrong_above_true": float(tf.reduce_mean(tf.cast(top_wrong > true_score, tf.float32))),
      "c_true_mass": float(tf.reduce_mean(tf.reduce_sum(tf.nn.softmax(c_logits) * true, -1))),
      "c_top_label_share": float(tf.reduce_max(counts)) / float(int(labels.shape[0])),
  }
