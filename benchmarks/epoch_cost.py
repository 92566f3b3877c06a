"""Cost of a KDGAN game epoch relative to plain supervised epochs of D, T and C.

A KDGAN epoch runs `d_passes`, `t_passes` and `c_passes` passes (cifar10.gin: 5, 2, 2) of
updates of D, T and C, like that many supervised passes over the same batches, but every update
also needs the other players' logits (negatives, rewards, soft targets) and samples labels.
This prints seconds per epoch and their RATIO (ideal: about 1), with the frozen players' logits
tabled once per phase (trainers/frozen_logits.py, the loop's default where the augmentation has
few forms) and, for comparison, run forward on every step (`--no-tables` only).

  python benchmarks/epoch_cost.py [--n 100] [--batch_size 10] [--repeats 20]
  python benchmarks/epoch_cost.py --dataset cifar10 --n 500 --batch_size 60 --repeats 3 \
      --passes 5,2,2 --augment mirror
Training time only (no evaluation); table refreshes are counted in the KDGAN epoch. Shapes and
players of MNIST (MLP C, LeNet T and D) or CIFAR-10 (cifar10.gin's: tutorial CNN C and D,
ResNet-20 T), pixel values random (speed does not depend on them).
"""
import argparse
import time

import kdgan_tf  # noqa: F401
import numpy as np
import tensorflow as tf

from kdgan_tf import estimators
from kdgan_tf.data import DataSplits, Split
from kdgan_tf.data import views
from kdgan_tf.data.augment import mirror, no_augment
from kdgan_tf.schedules import constant_tau
from kdgan_tf.trainers import KDGAN
from kdgan_tf.trainers.base import StepContext
from kdgan_tf.trainers.loop import Runner
from kdgan_tf.trainers.supervised_steps import supervised_step

from bench_players import DATASETS, players  # benchmarks/bench_players.py


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--n", type=int, default=100)
  parser.add_argument("--batch_size", type=int, default=10)
  parser.add_argument("--repeats", type=int, default=20)
  parser.add_argument("--estimator", default="concrete_pathwise",
                      choices=["concrete_pathwise", "concrete_score", "reinforce"])
  parser.add_argument("--num_samples", type=int, default=20)
  parser.add_argument("--dataset", default="mnist", choices=DATASETS)
  parser.add_argument("--passes", default="1,1,1", help="D, T and C passes per epoch.")
  parser.add_argument("--augment", default="none", choices=["none", "mirror"],
                      help="the game's augmentation (mirror: the paper's CIFAR-10).")
  parser.add_argument("--jit", action="store_true", help="XLA-compile each per-replica step "
                      "(tf.function(jit_compile=True)) for both the game and the plain passes.")
  args = parser.parse_args()

  rng = np.random.RandomState(0)
  shape, builders = players(args.dataset)
  x = rng.rand(args.n, *shape).astype(np.float32)
  y = rng.randint(0, 10, args.n).astype(np.int32)
  splits = DataSplits(Split({"image": x}, y), Split({"image": x[:0]}, y[:0]),
                      Split({"image": x[:0]}, y[:0]), 10)
  estimator = getattr(estimators, args.estimator)
  d_passes, t_passes, c_passes = (int(p) for p in args.passes.split(","))
  method = KDGAN(estimator=lambda *a: estimator(*a, num_samples=args.num_samples),
                 num_negatives=args.num_samples, d_passes=d_passes, t_passes=t_passes,
                 c_passes=c_passes)
  augment_fn = {"none": no_augment, "mirror": mirror}[args.augment]
  strategy = tf.distribute.get_strategy()
  steps = tf.constant(args.n // args.batch_size)
  wrap = (lambda f: tf.function(f, jit_compile=True)) if args.jit else (lambda f: f)

  def runner_with(tables):
    runner = Runner(f"/tmp/kdgan_epoch_cost_{tables}", method, splits, builders, strategy,
                    seed=0, batch_size=args.batch_size, eval_batch_size=1000, game_epochs=1,
                    tau_schedule=constant_tau, augment_fn=augment_fn, summary=False,
                    log=lambda m: None, frozen_logits=tables)
    ctx = StepContext(runner.models, runner.game_opts, runner.tau, runner.task,
                      args.batch_size, augment_fn, runner.views, runner.frozen_logits)
    return runner, ctx, runner.game_functions(ctx, wrap)

  def seconds_per_epoch(run_epoch):
    run_epoch(0)  # warm-up: tracing and first-call costs
    start = time.perf_counter()
    for r in range(args.repeats):
      run_epoch(r + 1)
    return (time.perf_counter() - start) / args.repeats

  cost = {}
  for tables in (True, False):
    runner, ctx, game = runner_with(tables)

    def kdgan_epoch(r, runner=runner, game=game):
      if runner.frozen_logits is not None:
        runner.frozen_logits.updated(runner.frozen_logits.tables)  # as after a game epoch
      runner.train_game_epoch(game, r, steps)
    cost["kdgan", tables] = seconds_per_epoch(kdgan_epoch)
  plain = {p: runner.compile(f"plain_{p}", wrap(supervised_step(
      runner.models[p], runner.pre_opts[p], args.batch_size, ctx.augment, runner.task,
      views.selector(runner.views[p])))) for p in ("discriminator", "teacher", "classifier")}
  passes = {"discriminator": d_passes, "teacher": t_passes, "classifier": c_passes}

  def plain_epoch(r):
    for p, fn in plain.items():
      if passes[p]:
        fn(runner.batches(args.batch_size, r), tf.constant(passes[p] * int(steps)))
  cost["plain"] = seconds_per_epoch(plain_epoch)
  print(f"{args.dataset} n={args.n} batch={args.batch_size} passes D,T,C={args.passes} "
        f"augment={args.augment} estimator={args.estimator} jit={args.jit} "
        f"samples={args.num_samples} ({int(steps)} steps per pass, {args.repeats} repeats)")
  print(f"plain epochs (D, T, C supervised passes):       {cost['plain'] * 1000:9.1f} ms")
  for tables, label in ((True, "frozen logits tabled (default)"),
                        (False, "frozen players run every step")):
    print(f"KDGAN epoch, {label + ':':34s}{cost['kdgan', tables] * 1000:9.1f} ms   "
          f"ratio {cost['kdgan', tables] / cost['plain']:.2f}")


if __name__ == "__main__":
  main()
