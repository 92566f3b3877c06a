"""What a recipe change did, run by run: two grids' records (e.g. superseded vs current) side by
side, paired by (protocol, n, method, seed), for the runs both finished.

  python benchmarks/compare_recipes.py \
      results/table1_cifar10/superseded_single_stage_teacher/records \
      results/table1_cifar10/records

Why: after a recipe change (the CIFAR-10 teacher's second pretraining stage) the question is
not only the new table but how each method moved on the same seeds; the report shows one grid.
Prints, per run, the reported number (honest: validation-selected test accuracy; authors: best
test) and T's pretrained test accuracy before -> after, then each method's mean change.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kdgan_tf.grid.rows import collect  # noqa: E402  pylint: disable=g-import-not-at-top
from kdgan_tf.grid.stats import reported_value  # noqa: E402  pylint: disable=g-import-not-at-top


def _by_run(records):
  return {(r["protocol"], r["n"], r["method"], r["seed"]): r for r in collect(records)}


def _pct(value):
  return "-" if value is None else f"{100 * value:.2f}"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("before", help="records (or runs) folder of the earlier recipe")
  parser.add_argument("after", help="records (or runs) folder of the later recipe")
  args = parser.parse_args()
  before, after = _by_run(args.before), _by_run(args.after)
  common = sorted(set(before) & set(after))
  if not common:
    print(f"no run finished in both {args.before} and {args.after}.", file=sys.stderr)
    return 2
  print("| protocol | n | method | seed | reported, before -> after | T pretrained, before -> "
        "after |")
  print("|---|---|---|---|---|---|")
  changes = {}
  for key in common:
    old, new = before[key], after[key]
    print(f"| {' | '.join(str(k) for k in key)} | {_pct(reported_value(old))} -> "
          f"{_pct(reported_value(new))} | {_pct(old.get('teacher_pretrained_test'))} -> "
          f"{_pct(new.get('teacher_pretrained_test'))} |")
    if reported_value(old) is not None and reported_value(new) is not None:
      changes.setdefault(key[:3], []).append(100 * (reported_value(new) - reported_value(old)))
  print("\nMean change of the reported number, points (after - before), over the paired seeds:")
  for (protocol, n, method), values in sorted(changes.items()):
    spread = f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else ""
    print(f"  {protocol} n={n} {method}: {statistics.fmean(values):+.2f}{spread} "
          f"({len(values)} seeds)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
