"""Replays committed Table 1 runs with the current code and reports whether they come back to the
last digit (the guard a redesign of the trainer must pass: issue 19, item 10).

  python benchmarks/replay_records.py [--protocol honest] [--n 100] [--seed 0]
      [--methods kdgan,supervised_c,...] [--runs_dir runs/replay]

Each record's own config.gin (results/table1_mnist/records/<protocol>/mnist_n<n>/<method>_s<seed>/)
is the configuration; the runs share one pretraining cache beside them, as in the grid. Prints,
per method, how many logged numbers differ from the record (timings excluded) and the selected
test accuracy of both; exits 1 if any differ. Needs the data of the records (TFDS_DATA_DIR).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER = ("kdgan", "supervised_c", "supervised_t", "mimic", "distn", "noisy", "codis", "nagan",
         "kdgan_wo_gm")


def _numbers(record):
  strip = lambda d: {k: v for k, v in d.items() if "seconds" not in k}
  return ([strip(e) for e in record["game"]["epochs"]], strip(record["game"]["pretrained"]),
          {p: (i.get("val_accuracy"), i.get("test_accuracy"))
           for p, i in record["pretrain"].items()})


def differences(old, new):
  """Count of numbers of `old` that `new` does not reproduce exactly (new keys are allowed)."""
  (old_epochs, old_pre, old_players), (new_epochs, new_pre, new_players) = (
      _numbers(old), _numbers(new))
  count = abs(len(old_epochs) - len(new_epochs))
  for a, b in list(zip(old_epochs, new_epochs)) + [(old_pre, new_pre)]:
    count += sum(1 for k, v in a.items() if b.get(k) != v)
  count += sum(1 for p, v in old_players.items() if new_players.get(p) != v)
  return count


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--protocol", default="honest")
  parser.add_argument("--n", type=int, default=100)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--methods", default=",".join(ORDER))
  parser.add_argument("--runs_dir", default=os.path.join(REPO, "runs", "replay"))
  parser.add_argument("--archive_to", default=None,
                      help="Copy each replayed run's metrics.json and config.gin here (e.g. "
                      "results/d_diagnosis: the replay also logs D's loss floor and w, which the "
                      "Table 2 report shows beside Corel5k's).")
  args = parser.parse_args()
  records = os.path.join(REPO, "results", "table1_mnist", "records", args.protocol,
                         f"mnist_n{args.n}")
  failed = False
  for method in args.methods.split(","):
    name = f"{method}_s{args.seed}"
    source = os.path.join(records, name)
    model_dir = os.path.join(args.runs_dir, args.protocol, f"mnist_n{args.n}", name)
    if not os.path.exists(os.path.join(model_dir, "metrics.json")) or not json.load(
        open(os.path.join(model_dir, "metrics.json"))).get("finished"):
      subprocess.run([sys.executable, "-m", "kdgan_tf.train",
                      f"--gin_file={os.path.join(source, 'config.gin')}",
                      f"--model_dir={model_dir}"], check=True, cwd=REPO)
    old = json.load(open(os.path.join(source, "metrics.json")))
    new = json.load(open(os.path.join(model_dir, "metrics.json")))
    count = differences(old, new)
    failed |= count > 0
    if args.archive_to:
      target = os.path.join(args.archive_to, f"{args.protocol}_mnist_n{args.n}", name)
      os.makedirs(target, exist_ok=True)
      for f in ("metrics.json", "config.gin"):
        shutil.copy2(os.path.join(model_dir, f), os.path.join(target, f))
    print(f"{args.protocol} n = {args.n} {name}: {count} numbers differ; selected test accuracy "
          f"record {old['game']['selected']['test_accuracy']}, now "
          f"{new['game']['selected']['test_accuracy']}", flush=True)
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
