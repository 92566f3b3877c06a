"""Wall-clock of one whole run, phase by phase, as seconds and as SHARES of the run (so numbers
from a busy machine still compare), plus the time the pretraining epochs themselves account for
(the rest of a phase is checkpointing, evaluation after loading and logging).

  TFDS_DATA_DIR=../shared/tensorflow_datasets python benchmarks/run_phases.py \
      [--gin_file mnist.gin --gin_file kdgan.gin] [--gin_binding ...] [--model_dir /tmp/x]

Pretraining is never taken from the cache here (`run_experiment.pretrain_cache_dir = None`), so
this times a full run: the issue-4 target is a KDGAN run at n = 100 under 5 minutes on 2 cores.
"""
import argparse
import os
import shutil
import tempfile
import time

START = time.time()
import kdgan_tf  # noqa: E402,F401  pylint: disable=g-import-not-at-top,wrong-import-position
from kdgan_tf import experiment  # noqa: E402  pylint: disable=wrong-import-position
from kdgan_tf.config import parse_config  # noqa: E402  pylint: disable=wrong-import-position


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--gin_file", action="append", default=None)
  parser.add_argument("--gin_binding", action="append", default=[])
  parser.add_argument("--model_dir", default=None)
  args = parser.parse_args()
  files = args.gin_file or ["mnist.gin", "kdgan.gin"]
  model_dir = args.model_dir or tempfile.mkdtemp(prefix="kdgan_run_phases_")
  if os.path.exists(os.path.join(model_dir, "metrics.json")):
    shutil.rmtree(model_dir)
  marks = [("imports", time.time() - START)]
  parse_config(files, args.gin_binding + ["run_experiment.pretrain_cache_dir = None"])
  record = experiment.run_experiment(
      model_dir, log=lambda message: marks.append((message.split(":")[0][:40],
                                                   time.time() - START)))
  total = time.time() - START
  marks.append(("end (export included)", total))
  print(f"{'phase ends at':42s} {'s':>7s} {'share':>6s}")
  previous, last_epoch = 0.0, None
  for name, at in marks + [("", None)]:
    if name.startswith("epoch"):
      last_epoch = at  # one line per game epoch: only the game's end is shown
      continue
    if last_epoch is not None:
      print(f"{'game (all epochs)':42s} {last_epoch:7.1f} {(last_epoch - previous) / total:6.2f}")
      previous, last_epoch = last_epoch, None
    if at is None:
      break
    print(f"{name:42s} {at:7.1f} {(at - previous) / total:6.2f}")
    previous = at
  game = sum(e["seconds"] for e in record["game"]["epochs"])
  pre = sum(p.get("seconds", 0.0) for p in record["pretrain"].values())
  print(f"total {total:.1f} s; pretraining epochs {pre:.1f} s ({pre / total:.2f}), game epochs "
        f"{game:.1f} s ({game / total:.2f}), other {total - pre - game:.1f} s "
        f"({(total - pre - game) / total:.2f})")


if __name__ == "__main__":
  main()
