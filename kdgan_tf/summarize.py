"""Summarise finished runs: python -m kdgan_tf.summarize MODEL_DIR [MODEL_DIR ...]

Prints, per run and as mean ± std over the runs given, C's test accuracy at the validation-
selected epoch (honest protocol), at the last epoch, the pretrained C before the game, and the
best test accuracy seen (authors' protocol, labelled as such), plus seconds per game epoch.
"""
import json
import os
import statistics
import sys

COLUMNS = (("pretrained C", ("game", "pretrained", "c_test_accuracy")),
           ("val at selected", ("game", "selected", "val_accuracy")),
           ("selected (val)", ("game", "selected", "test_accuracy")),
           ("epoch", ("game", "selected", "epoch")),
           ("last", ("game", "last", "test_accuracy")),
           ("best test [authors]", ("game", "authors_protocol", "test_accuracy")),
           ("pretrained T", ("game", "pretrained", "t_test_accuracy")))


def _get(record, path):
  for key in path:
    if not isinstance(record, dict) or key not in record:
      return None
    record = record[key]
  return record


def run_row(record):
  """The table's values for one run's metrics.json record (None where missing)."""
  row = {name: _get(record, path) for name, path in COLUMNS}
  epochs = _get(record, ("game", "epochs")) or []
  row["s/epoch"] = (statistics.median(e["seconds"] for e in epochs) if epochs else None)
  return row


def mean_std(values):
  """(mean, sample std) of the non-None values; std is 0 for a single value."""
  values = [v for v in values if v is not None]
  if not values:
    return None, None
  return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main(argv):
  dirs = argv[1:]
  if not dirs:
    print(__doc__.strip().splitlines()[0], file=sys.stderr)
    return 2
  rows = []
  for d in dirs:
    with open(os.path.join(d, "metrics.json")) as f:
      rows.append((d, run_row(json.load(f))))
  names = [name for name, _ in COLUMNS] + ["s/epoch"]
  print(" | ".join(["run"] + names))
  for d, row in rows:
    cells = ["-" if row[n] is None else (f"{row[n]:.4f}" if isinstance(row[n], float)
                                         else str(row[n])) for n in names]
    print(" | ".join([os.path.basename(os.path.normpath(d))] + cells))
  cells = []
  for n in names:
    mean, std = mean_std([row[n] for _, row in rows])
    cells.append("-" if mean is None else f"{mean:.4f} ± {std:.4f}")
  print(" | ".join([f"mean ± std ({len(rows)} runs)"] + cells))
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
