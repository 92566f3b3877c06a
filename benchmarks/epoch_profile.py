"""Where a KDGAN run's time goes: each part of one game epoch and of one pretraining epoch, as
seconds and as a SHARE of the game epoch (so numbers from a busy machine still compare).

  python benchmarks/epoch_profile.py [--n 100] [--batch_size 10] [--repeats 5] [--jit_eval]
      [--eval_batch_size B]
  python benchmarks/epoch_profile.py --dataset cifar10 --n 500 --batch_size 60 --repeats 2

Parts, with mnist.gin's and cifar10.gin's passes (D 5, T 2, C 2) and evaluation sets (5,000
validation, 10,000 test, the n training images): the input pipeline alone (batches pulled,
nothing computed), each player's game phase, the refreshes of the frozen players' logit tables
it reads (trainers/frozen_logits.py; CIFAR-10's mirrored game has them, MNIST's unaugmented one
too), evaluating C and T, and a pretraining epoch of T (one pass + validation). The runs
evaluate less often than every epoch (cifar10.gin: C every 3rd epoch, T every 6th), so the
evaluation shares are upper bounds. CIFAR-10's players are cifar10.gin's (tutorial CNN C and D,
ResNet-20 T) with mirroring in the game.
The last lines (not part of the game epoch's sum) are T's pretraining epoch and the evaluation
sets' batches pulled with no model run (what evaluation costs beyond the forward passes' input).
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
from kdgan_tf.data.augment import mirror, no_augment
from kdgan_tf.schedules import constant_tau
from kdgan_tf.trainers import KDGAN
from kdgan_tf.trainers import frozen_logits
from kdgan_tf.trainers.base import StepContext
from kdgan_tf.trainers.loop import Runner
from kdgan_tf.trainers.supervised_steps import supervised_step

from bench_players import DATASETS, players  # benchmarks/bench_players.py

PASSES = {"discriminator": 5, "teacher": 2, "classifier": 2}


def _timed(fn, repeats):
  fn()  # warm-up: tracing and first-call costs
  start = time.perf_counter()
  for _ in range(repeats):
    fn()
  return (time.perf_counter() - start) / repeats


def _refreshed_each_epoch(game):
  """{phase name: players whose tables are refilled before it} in an epoch after the first
  (a table goes stale when a phase updates its player; the loop refills it when next read)."""
  stale, refreshed = set(), {}
  for epoch in range(2):
    for phase, tabled, _ in game:
      if phase.passes <= 0:
        continue
      due = sorted(set(tabled) & stale) if epoch else []
      refreshed[phase.name] = tuple(due)
      stale -= set(tabled)
      stale |= set(frozen_logits.phase_updates(phase))
  return refreshed


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--n", type=int, default=100)
  parser.add_argument("--batch_size", type=int, default=10)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--jit_eval", action="store_true")
  parser.add_argument("--eval_batch_size", type=int, default=None, help="default: the "
                      "dataset's gin file's (mnist.gin 1000, cifar10.gin 500).")
  parser.add_argument("--dataset", default="mnist", choices=DATASETS)
  args = parser.parse_args()

  rng = np.random.RandomState(0)
  mnist = args.dataset == "mnist"
  shape, builders = players(args.dataset)
  eval_batch_size = args.eval_batch_size or (1000 if mnist else 500)
  augment_fn = no_augment if mnist else mirror
  make = lambda count: (rng.rand(count, *shape).astype(np.float32),
                        rng.randint(0, 10, count).astype(np.int32))
  (x, y), (xv, yv), (xt, yt) = make(args.n), make(5000), make(10000)
  splits = DataSplits(Split({"image": x}, y), Split({"image": xv}, yv),
                      Split({"image": xt}, yt), 10)
  method = KDGAN(num_negatives=20, d_passes=5, t_passes=2, c_passes=2)
  runner = Runner(f"/tmp/kdgan_epoch_profile_{args.dataset}", method, splits, builders,
                  tf.distribute.get_strategy(), seed=0, batch_size=args.batch_size,
                  eval_batch_size=eval_batch_size, game_epochs=1, tau_schedule=constant_tau,
                  augment_fn=augment_fn, summary=False, log=lambda m: None)
  steps = args.n // args.batch_size
  ctx = StepContext(runner.models, runner.game_opts, runner.tau, runner.task, args.batch_size,
                    augment_fn, runner.views, runner.frozen_logits)
  frozen = runner.frozen_logits
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
  game = runner.game_functions(ctx)
  for phase, tabled, fn in game:
    stale = _refreshed_each_epoch(game).get(phase.name, ())
    if frozen is not None and stale:
      refresh = lambda t=stale: (frozen.updated(t), frozen.refresh(t))
      parts[f"tables refreshed before {phase.name}: {', '.join(stale)}"] = _timed(
          refresh, args.repeats)
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
  @tf.function
  def pull_all(dataset):
    total = tf.constant(0.0)
    for features, _ in dataset:
      total += tf.reduce_sum(features["image"][:, 0, 0, 0])
    return total

  eval_sets = runner.evaluator._eval_sets  # pylint: disable=protected-access
  pretrain["evaluation input alone (train + val + test, no model)"] = _timed(
      lambda: [pull_all(eval_sets[s][0]) for s in ("train", "val", "test")], args.repeats)
  print(f"{args.dataset} n={args.n} batch={args.batch_size} ({steps} steps per pass), "
        f"{args.repeats} repeats")
  print(f"{'part':62s} {'seconds':>8s} {'share of a game epoch':>22s}")
  for name, seconds in list(parts.items()) + list(pretrain.items()):
    print(f"{name:62s} {seconds:8.3f} {seconds / game_epoch:22.2f}")
  print(f"{'game epoch, sum of the parts':62s} {game_epoch:8.3f} {1.0:22.2f}")

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
