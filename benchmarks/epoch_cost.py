"""Cost of one KDGAN game pass relative to plain supervised passes of C, T and D.

A KDGAN pass updates D, T and C once per batch each, like three supervised passes over the same
batches, but every update also runs the other players forward (soft targets, rewards, negatives)
and samples labels. This prints seconds per pass and their RATIO (ideal: about 1).

  python benchmarks/epoch_cost.py [--n 100] [--batch_size 10] [--repeats 20] [--estimator ...]
  python benchmarks/epoch_cost.py --dataset cifar10 --n 500 --batch_size 60 --repeats 5
Training time only (no evaluation); shapes and players of MNIST (MLP C, LeNet T and D) or
CIFAR-10 (cifar10.gin's: tutorial CNN C and D, ResNet-20 T), pixel values random (speed does
not depend on them).
"""
import argparse
import time

import kdgan_tf  # noqa: F401
import numpy as np
import tensorflow as tf

from kdgan_tf import estimators
from kdgan_tf.data import DataSplits, Split
from kdgan_tf.data import views
from kdgan_tf.data.augment import no_augment
from kdgan_tf.models import lenet, mlp_classifier
from kdgan_tf.models.cifar import preact_resnet, tutorial_cnn
from kdgan_tf.schedules import constant_tau
from kdgan_tf.trainers import KDGAN
from kdgan_tf.trainers.base import StepContext
from kdgan_tf.trainers.loop import Runner
from kdgan_tf.trainers.supervised_steps import supervised_step


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--n", type=int, default=100)
  parser.add_argument("--batch_size", type=int, default=10)
  parser.add_argument("--repeats", type=int, default=20)
  parser.add_argument("--estimator", default="concrete_pathwise",
                      choices=["concrete_pathwise", "concrete_score", "reinforce"])
  parser.add_argument("--num_samples", type=int, default=20)
  parser.add_argument("--dataset", default="mnist", choices=["mnist", "cifar10"])
  parser.add_argument("--jit", action="store_true", help="XLA-compile each per-replica step "
                      "(tf.function(jit_compile=True)) for both the game and the plain passes.")
  args = parser.parse_args()

  rng = np.random.RandomState(0)
  shape = (28, 28, 1) if args.dataset == "mnist" else (32, 32, 3)
  builders = ({"classifier": mlp_classifier, "teacher": lenet, "discriminator": lenet}
              if args.dataset == "mnist" else
              {"classifier": tutorial_cnn, "teacher": preact_resnet,
               "discriminator": tutorial_cnn})
  x = rng.rand(args.n, *shape).astype(np.float32)
  y = rng.randint(0, 10, args.n).astype(np.int32)
  splits = DataSplits(Split({"image": x}, y), Split({"image": x[:0]}, y[:0]),
                      Split({"image": x[:0]}, y[:0]), 10)
  estimator = getattr(estimators, args.estimator)
  method = KDGAN(estimator=lambda *a: estimator(*a, num_samples=args.num_samples),
                 num_negatives=args.num_samples)
  strategy = tf.distribute.get_strategy()
  runner = Runner("/tmp/kdgan_epoch_cost", method, splits, builders, strategy, seed=0, batch_size=args.batch_size, eval_batch_size=1000,
                  game_epochs=1, tau_schedule=constant_tau, augment_fn=no_augment,
                  summary=False, log=lambda m: None)
  steps = tf.constant(args.n // args.batch_size)
  ctx = StepContext(runner.models, runner.game_opts, runner.tau, runner.task, args.batch_size,
                    no_augment, runner.views)
  wrap = (lambda f: tf.function(f, jit_compile=True)) if args.jit else (lambda f: f)
  game = [runner.compile(f"game_{p.name}", wrap(p.step_fn)) for p in method.phases(ctx)]
  plain = [runner.compile(f"plain_{p}", wrap(supervised_step(
      runner.models[p], runner.pre_opts[p], args.batch_size, ctx.augment, runner.task,
      views.selector(runner.views[p])))) for p in ("discriminator", "teacher", "classifier")]

  def time_passes(fns):
    for fn in fns:  # warm-up: tracing and first-call costs
      fn(runner.batches(args.batch_size, 0), steps)
    start = time.perf_counter()
    for r in range(args.repeats):
      for fn in fns:
        fn(runner.batches(args.batch_size, r + 1), steps)
    return (time.perf_counter() - start) / args.repeats

  per_phase = {}
  for name, fns in (("kdgan", game), ("supervised", plain)):
    per_phase[name] = time_passes(fns)
  ratio = per_phase["kdgan"] / per_phase["supervised"]
  print(f"{args.dataset} n={args.n} batch={args.batch_size} estimator={args.estimator} "
        f"jit={args.jit} "
        f"samples={args.num_samples} ({int(steps)} steps per pass, {args.repeats} repeats)")
  print(f"one KDGAN pass (D, T, C updates):          {per_phase['kdgan'] * 1000:8.1f} ms")
  print(f"one supervised pass each of D, T and C:    {per_phase['supervised'] * 1000:8.1f} ms")
  print(f"ratio KDGAN / supervised:                  {ratio:8.2f}")
  for name, fns in (("D", [game[0]]), ("T", [game[1]]), ("C", [game[2]])):
    print(f"  KDGAN {name} pass: {time_passes(fns) * 1000:8.1f} ms")


if __name__ == "__main__":
  main()
