"""Distribution correctness: one supervised step under MirroredStrategy over 2 logical CPUs must
be the SAME step as without distribution.

A step's per-replica loss is averaged over the GLOBAL batch (tf.nn.compute_average_loss) and the
weight-decay penalty is divided by the number of replicas (tf.nn.scale_regularization_loss), so
that the all-reduce SUM of the replicas' gradients is the gradient of the whole batch's loss.
With plain SGD a step is linear in that gradient, so the two models' weights after one step must
agree to float32 round-off. Negative controls run the same comparison with the two classic
mistakes (a per-replica batch size instead of the global one; an unscaled regulariser counted
once per replica) and must show a clear difference, proving that the comparison can fail.

Logical CPU devices can only be configured before TensorFlow initialises its devices, which
pytest has already done in this process, so the experiment runs in a fresh interpreter.
"""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = r"""
import json
import kdgan_tf
import numpy as np
import tensorflow as tf
from kdgan_tf.distribute import make_strategy, split_cpu

split_cpu(2)  # before anything initialises TF's devices

import keras
from kdgan_tf.data.augment import no_augment
from kdgan_tf.losses import cross_entropy
from kdgan_tf.models import mlp_classifier
from kdgan_tf.tasks import SingleLabel
from kdgan_tf.trainers.supervised_steps import supervised_step

s1 = make_strategy("default")
assert s1 is tf.distribute.get_strategy()
s2 = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])

rng = np.random.RandomState(0)
X = rng.rand(8, 28, 28, 1).astype(np.float32)
Y = rng.randint(0, 10, size=8).astype(np.int32)
SEED = tf.constant([0, 0], tf.int64)


def unscaled_regularizer_step(model, optimizer, global_batch_size, augment, task, select):
  # Negative control only: supervised_step with the weight decay NOT divided by the number of
  # replicas, so that the all-reduce counts it once per replica.
  def step(images, labels, seed):
    with tf.GradientTape() as tape:
      logits = model(select(augment(images, seed)), training=True)
      loss = tf.nn.compute_average_loss(cross_entropy(labels, logits),
                                        global_batch_size=global_batch_size)
      total = loss + tf.add_n(model.losses)
    grads = tape.gradient(total, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return {"loss": loss}
  return step


def build(strategy, weight_decay, init):
  with strategy.scope():
    model = mlp_classifier(input_shape=(28, 28, 1), num_classes=10, hidden_units=(16,),
                           dropout_rate=0.0, weight_decay=weight_decay)
    if init is not None:
      model.set_weights(init)
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    optimizer.build(model.trainable_variables)
  return model, optimizer


def one_step(strategy, weight_decay, init, global_batch_size=8, make_step=supervised_step):
  model, optimizer = build(strategy, weight_decay, init)
  step = make_step(model, optimizer, global_batch_size=global_batch_size,
                   augment=no_augment, task=SingleLabel(10), select=lambda features: features)

  @tf.function
  def run(images, labels):
    per_replica = strategy.run(step, args=(images, labels, SEED))
    return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica["loss"], axis=None)

  dataset = strategy.experimental_distribute_dataset(
      tf.data.Dataset.from_tensor_slices((X, Y)).batch(8))
  images, labels = next(iter(dataset))
  loss = float(run(images, labels))
  return [w.copy() for w in model.get_weights()], loss


def max_diff(a, b):
  return float(max(np.abs(x - y).max() for x, y in zip(a, b)))


keras.utils.set_random_seed(1)
result = {"replicas": s2.num_replicas_in_sync}
for decay in (4e-5, 0.1):  # the real weight decay, and one large enough to see its scaling
  init = build(s1, decay, None)[0].get_weights()
  w1, loss1 = one_step(s1, decay, init)
  w2, loss2 = one_step(s2, decay, init)
  result[f"wd{decay:g}"] = {"weight_diff": max_diff(w1, w2), "loss_default": loss1,
                            "loss_mirrored": loss2, "step_size": max_diff(w1, init)}
  if decay == 0.1:
    w_bad, loss_bad = one_step(s2, decay, init, global_batch_size=4)
    result["bad_batch"] = {"weight_diff": max_diff(w1, w_bad), "loss_mirrored": loss_bad}
    w_reg, _ = one_step(s2, decay, init, make_step=unscaled_regularizer_step)
    result["unscaled_reg"] = {"weight_diff": max_diff(w1, w_reg)}

# Evaluation over a split whose last batch is smaller than the replica count (9 = 4 + 4 + 1,
# 5 = 4 + 1): without padding one replica gets no example and the gather aborts.
from kdgan_tf.trainers.compiled import split_scores_function
from kdgan_tf.trainers.evaluation import distributed_eval_batches
with s2.scope():
  scorer = build(s2, 0.0, None)[0]
for n in (9, 5, 8):
  base = tf.data.Dataset.from_tensor_slices((X[:1].repeat(n, 0) + np.arange(n)[:, None, None, None]
                                             / n, np.arange(n, dtype=np.int32)))
  scores, labels = split_scores_function(s2, scorer, lambda f: f, tf.int32)(
      distributed_eval_batches(s2, base, n, 4))
  scores, labels = scores.numpy()[:n], labels.numpy()[:n]
  want = scorer(np.stack([x for x, _ in base.as_numpy_iterator()])).numpy()
  result[f"eval_n{n}"] = {"labels": labels.tolist(), "score_diff": float(np.abs(scores - want).max())}
print("RESULT " + json.dumps(result))
"""


@pytest.fixture(scope="module")
def mirrored_result():
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      p for p in (REPO, os.environ.get("PYTHONPATH")) if p))
  proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                        cwd=REPO, timeout=240)
  assert proc.returncode == 0, proc.stderr[-4000:]
  lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
  assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
  return json.loads(lines[-1][len("RESULT "):])


def test_two_replicas(mirrored_result):
  assert mirrored_result["replicas"] == 2


@pytest.mark.parametrize("decay", ["wd4e-05", "wd0.1"])
def test_mirrored_step_equals_single_device_step(mirrored_result, decay):
  """Same global-batch loss, same SGD step (the step itself is far larger than the tolerance)."""
  r = mirrored_result[decay]
  assert r["step_size"] > 1e-3
  assert abs(r["loss_default"] - r["loss_mirrored"]) < 1e-5
  assert r["weight_diff"] < 1e-5


def test_negative_control_wrong_global_batch_size(mirrored_result):
  """Averaging each replica's loss over its own 4 examples doubles the loss and the step."""
  ref = mirrored_result["wd0.1"]
  bad = mirrored_result["bad_batch"]
  assert bad["weight_diff"] > 1e-4
  assert bad["loss_mirrored"] == pytest.approx(2 * ref["loss_default"], rel=1e-5)


def test_negative_control_unscaled_regularizer(mirrored_result):
  """A weight-decay penalty not divided by the replica count is counted twice by the all-reduce
  (visible with a large decay; with 4e-5 the extra step would be ~1e-7, below float noise)."""
  assert mirrored_result["unscaled_reg"]["weight_diff"] > 1e-4


@pytest.mark.parametrize("n", [9, 5, 8])
def test_two_replica_evaluation_covers_every_example_once_in_order(mirrored_result, n):
  """n = 9 and 5 at batch 4 leave one example for two replicas: the padded split is evaluated,
  every example once, in order, with the single-model scores."""
  r = mirrored_result[f"eval_n{n}"]
  assert r["labels"] == list(range(n))
  assert r["score_diff"] < 1e-5
