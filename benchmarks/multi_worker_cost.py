"""Seconds per training step of two local workers (--strategy=multi_worker, one replica each,
gRPC all-reduce over loopback) against one process on the same global batch, and their RATIO.

  python benchmarks/multi_worker_cost.py [--n 200] [--batch_size 10] [--game_epochs 4]
      [--method kdgan] [--keep DIR]

The runs are the real CLI on an MNIST-shaped generated .npz, one after the other (never two
at once). A step is one global batch through all of the method's game phases (KDGAN: D, T
and C updates); its time is a game epoch's training seconds (`train_seconds` in metrics.json,
no evaluation) over its n / batch_size batches, averaged over the epochs after the first (the
first one traces the compiled steps). References: --strategy=default (one replica: the
usual single-machine run) and --strategy=mirrored over two logical CPUs (the same two
replicas in one process). On one machine both workers share its cores, so the ratio measures
communication and contention, not what two machines would gain.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from kdgan_tf.local_cluster import LocalCluster  # noqa: E402  pylint: disable=g-import-not-at-top


def _npz(path):
  """400 train / 100 test 28x28 images whose class is the position of a bright square."""
  rng = np.random.RandomState(0)

  def make(count):
    y = rng.randint(0, 10, size=count).astype(np.uint8)
    x = (rng.rand(count, 28, 28) * 60).astype(np.uint8)
    for i, label in enumerate(y):
      r, c = divmod(int(label), 5)
      x[i, 4 + 10 * r: 10 + 10 * r, 1 + 5 * c: 5 + 5 * c] = 255
    return x, y
  (x_train, y_train), (x_test, y_test) = make(400), make(100)
  np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
  return path


def _args(model_dir, npz, args):
  return ["--gin_file=tiny_smoke.gin", f"--gin_file={args.method}.gin",
          f"--model_dir={model_dir}",
          f"--gin_bindings=load_image_classification.original_order_npz = '{npz}'",
          f"--gin_bindings=load_image_classification.n = {args.n}",
          f"--gin_bindings=run_experiment.batch_size = {args.batch_size}",
          f"--gin_bindings=run_experiment.game_epochs = {args.game_epochs}",
          "--gin_bindings=run_experiment.export = False",
          "--gin_bindings=run_experiment.pretrain_cache_dir = None"]


def _seconds_per_step(model_dir, args):
  with open(os.path.join(model_dir, "metrics.json")) as f:
    epochs = json.load(f)["game"]["epochs"][1:]
  return float(np.mean([e["train_seconds"] for e in epochs])) / (args.n // args.batch_size)


def _one_process(name, extra, base, npz, args):
  model_dir = os.path.join(base, name)
  started = time.time()
  proc = subprocess.run([sys.executable, "-m", "kdgan_tf.train", *extra,
                         *_args(model_dir, npz, args)], capture_output=True, text=True,
                        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), timeout=3600)
  if proc.returncode:
    sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
  return _seconds_per_step(model_dir, args), time.time() - started


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--n", type=int, default=200)
  parser.add_argument("--batch_size", type=int, default=10)
  parser.add_argument("--game_epochs", type=int, default=4)
  parser.add_argument("--method", default="kdgan", help="a gin_configs/<method>.gin")
  parser.add_argument("--keep", default=None, help="write the runs here (default: a temp dir)")
  args = parser.parse_args()
  if args.game_epochs < 2:
    parser.error("--game_epochs must be at least 2 (the first epoch traces)")
  base = args.keep or tempfile.mkdtemp(prefix="kdgan-multi-worker-cost-")
  os.makedirs(base, exist_ok=True)
  npz = _npz(os.path.join(base, "data.npz"))
  results = {"default": _one_process("default", ["--strategy=default"], base, npz, args),
             "mirrored_2cpu": _one_process("mirrored_2cpu", ["--strategy=mirrored",
                                                             "--num_virtual_cpus=2"],
                                           base, npz, args)}
  model_dir = os.path.join(base, "two_workers")
  started = time.time()
  for i, (code, _, err) in enumerate(LocalCluster(_args(model_dir, npz, args), 2).wait(3600)):
    if code:
      sys.exit(f"worker {i} failed:\n{err[-3000:]}")
  results["two_workers"] = (_seconds_per_step(model_dir, args), time.time() - started)
  print(f"{args.method}, n = {args.n}, global batch {args.batch_size}, "
        f"{args.n // args.batch_size} steps per game epoch, {os.cpu_count()} CPUs")
  for name, (step, wall) in results.items():
    print(f"  {name:14s} {1000 * step:8.2f} ms per step   (whole run {wall:6.1f} s)")
  two = results["two_workers"][0]
  print(f"RATIO two workers / one worker (default): {two / results['default'][0]:.2f}")
  print(f"RATIO two workers / one process, two replicas: {two / results['mirrored_2cpu'][0]:.2f}")


if __name__ == "__main__":
  main()
