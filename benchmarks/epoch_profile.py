"""Where a KDGAN run's time goes: each part of one game epoch and of one pretraining epoch, as
seconds and as a SHARE of the game epoch (so numbers from a busy machine still compare).

  python benchmarks/epoch_profile.py [--n 100] [--batch_size 10] [--repeats 5] [--jit_eval]

Parts, with mnist.gin's passes (D 5, T 2, C 2) and evaluation sets (5,000 validation, 10,000
test, the n training images): the input pipeline alone (batches pulled, nothing computed), each
player's game phase, evaluating C and T, and a pretraining epoch of T (one pass + validation).
`--jit_eval` also times XLA-compiled evaluation and checks it counts the same correct answers.
Pixel values are random: speed does not depend on them.
"""
import argparse
import time

import kdgan_tf  # noqa: F401
import numpy as np
import tensorflow as tf

from kdgan_tf.data import DataSplits, Split
from kdgan_tf.data import views
from kdgan_tf.data.augment import no_augment
from kdgan_tf.models import lenet, mlp_classifier
from kdgan_tf.schedules import constant_tau
from kdgan_tf.trainers import KDGAN
from kdgan_tf.trainers.base import StepContext
from kdgan_tf.trainers.loop import Runner
from kdgan_tf.trainers.supervised_steps import supervised_step

PASSES = {"discriminator": 5, "teacher": 2, "classifier": 2}


def _timed(fn, repeats):
  fn()  # warm-up: tracing and first-call costs
  start = time.perf_counter()
  for _ in range(repeats):
    fn()
  return (time.perf_counter() - start) / repeats


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--n", type=int, default=100)
  parser.add_argument("--batch_size", type=int, default=10)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--jit_eval", action="store_true")
  args = parser.parse_args()

  rng = np.random.RandomState(0)
  make = lambda count: (rng.rand(count, 28, 28, 1).astype(np.float32),
                        rng.randint(0, 10, count).astype(np.int32))
  (x, y), (xv, yv), (xt, yt) = make(args.n), make(5000), make(10000)
  splits = DataSplits(Split({"image": x}, y), Split({"image": xv}, yv),
                      Split({"image": xt}, yt), 10)
  method = KDGAN(num_negatives=20, d_passes=5, t_passes=2, c_passes=2)
  runner = Runner("/tmp/kdgan_epoch_profile", method, splits,
                  {"classifier": mlp_classifier, "teacher": lenet, "discriminator": lenet},
                  tf.distribute.get_strategy(), seed=0, batch_size=args.batch_size,
                  eval_batch_size=1000, game_epochs=1, tau_schedule=constant_tau,
                  augment_fn=no_augment, summary=False, log=lambda m: None)
  steps = args.n // args.batch_size
  ctx = StepContext(runner.models, runner.game_opts, runner.tau, runner.task, args.batch_size,
                    no_augment, runner.views)
  batches = lambda: runner.batches(args.batch_size, 0)
  parts = {}

  @tf.function
  def pull(iterator, num_steps):
    total = tf.constant(0.0)
    for _ in tf.range(num_steps):
      features, _ = next(iterator)
      total += tf.reduce_sum(features["image"][:, 0, 0, 0])
    return total

  parts["input pipeline (all game steps)"] = _timed(
      lambda: pull(batches(), tf.constant(steps * sum(PASSES.values()))), args.repeats)
  for phase in method.phases(ctx):
    fn = runner.compile(f"game_{phase.name}", phase.step_fn)
    parts[f"game: {phase.name} ({PASSES[phase.name]} passes)"] = _timed(
        lambda fn=fn, p=phase.name: fn(batches(), tf.constant(PASSES[p] * steps)), args.repeats)
  for player in ("classifier", "teacher"):
    parts[f"evaluate {player} (train + val + test)"] = _timed(
        lambda p=player: [runner.evaluate(p, s) for s in ("train", "val", "test")], args.repeats)
  game_epoch = sum(parts.values())

  pre = runner.compile("pretrain_teacher", supervised_step(
      runner.models["teacher"], runner.pre_opts["teacher"], args.batch_size, ctx.augment,
      runner.task, views.selector(runner.views["teacher"])))
  pretrain = {"pretrain T: one training pass": _timed(
      lambda: pre(batches(), tf.constant(steps)), args.repeats),
              "pretrain T: validation": _timed(lambda: runner.evaluate("teacher", "val"),
                                               args.repeats)}
  print(f"n={args.n} batch={args.batch_size} ({steps} steps per pass), {args.repeats} repeats")
  print(f"{'part':45s} {'seconds':>8s} {'share of a game epoch':>22s}")
  for name, seconds in list(parts.items()) + list(pretrain.items()):
    print(f"{name:45s} {seconds:8.3f} {seconds / game_epoch:22.2f}")
  print(f"{'game epoch, sum of the parts':45s} {game_epoch:8.3f} {1.0:22.2f}")

  if args.jit_eval:
    model = runner.models["teacher"]

    def counter(jit):
      @tf.function(jit_compile=jit)
      def correct(images, labels):
        predictions = tf.argmax(model(images, training=False), -1, output_type=tf.int32)
        return tf.reduce_sum(tf.cast(tf.equal(predictions, labels), tf.int32))
      return lambda: sum(int(correct(xt[i:i + 1000], yt[i:i + 1000]))
                         for i in range(0, len(yt), 1000))

    plain, xla = counter(False), counter(True)
    same = plain() == xla()
    t_plain, t_xla = _timed(plain, args.repeats), _timed(xla, args.repeats)
    print(f"T on 10,000 test images: plain {t_plain:.3f} s, XLA {t_xla:.3f} s, ratio "
          f"{t_xla / t_plain:.2f}; same number of correct answers: {same}")


if __name__ == "__main__":
  main()
