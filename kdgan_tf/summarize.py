"""Summarise finished runs: python -m kdgan_tf.summarize [--by_method] MODEL_DIR [...]

Default: prints, per run and as mean ± std over the runs given, C's test accuracy at the
validation-selected epoch (honest protocol), at the last epoch, the pretrained C before the game,
and the best test accuracy seen (authors' protocol, labelled as such), plus seconds per epoch.

--by_method: one markdown row per (dataset, n, method) over its seeds, beside the paper's Table 1
number (kdgan_tf/reference/paper_table1.json, which names its source); the selected player's
accuracy (the teacher's for supervised_t).
"""
import json
import os
import statistics
import sys

from kdgan_tf.grid import stats as grid_stats

COLUMNS = (("pretrained C", ("game", "pretrained", "c_test_{metric}")),
           ("val at selected", ("game", "selected", "val_{metric}")),
           ("selected (val)", ("game", "selected", "test_{metric}")),
           ("epoch", ("game", "selected", "epoch")),
           ("last", ("game", "last", "test_{metric}")),
           ("best test [authors]", ("game", "authors_protocol", "test_{metric}")),
           ("pretrained T", ("game", "pretrained", "t_test_{metric}")))
"""Paths into metrics.json; {metric} is the run's selection metric (accuracy, or P@3 for tags)."""


def get_path(record, path):
  """record[path[0]][path[1]]...; None where a key is missing. "{metric}" in a key is the
  record's selection metric."""
  metric = record.get("selection_metric", "accuracy") if isinstance(record, dict) else ""
  for key in path:
    key = key.format(metric=metric)
    if not isinstance(record, dict) or key not in record:
      return None
    record = record[key]
  return record


def run_row(record):
  """The table's values for one run's metrics.json record (None where missing)."""
  row = {name: get_path(record, path) for name, path in COLUMNS}
  epochs = get_path(record, ("game", "epochs")) or []
  row["s/epoch"] = (statistics.median(e["seconds"] for e in epochs) if epochs else None)
  return row


def _read(model_dir):
  with open(os.path.join(model_dir, "metrics.json")) as f:
    return json.load(f)


def mean_std(values):
  """(mean, sample std) of the non-None values; std is 0 for a single value; (None, None)
  when there is none. kdgan_tf.grid.stats.mean_std without the count: this command line's
  callers unpack a pair and print "-" for a None mean."""
  stats = grid_stats.mean_std(values)
  return (None, None) if stats is None else stats[:2]


PAPER_TABLE1 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference",
                            "paper_table1.json")
PAPER_ROW = {"mimic": "MIMIC", "distn": "DISTN", "noisy": "NOISY", "codis": "CODIS",
             "nagan": "NaGAN", "kdgan": "KDGAN", "kdgan_wo_gm": "KDGAN-WO-GM"}
METHOD_ORDER = ("supervised_c", "mimic", "distn", "noisy", "codis", "nagan", "kdgan_wo_gm",
                "kdgan", "supervised_t")


def load_paper_table1():
  """The paper's Table 1 (kdgan_tf/reference/paper_table1.json), read in one place so that
  every report shows the same paper column."""
  with open(PAPER_TABLE1) as f:
    return json.load(f)


def paper_number(paper, dataset, n, method):
  """(mean, std) of the paper's Table 1 cell, or None."""
  column, name = f"{dataset}_n{n}", PAPER_ROW.get(method, "")
  row = paper["rows"].get(name)
  if row is not None and column in paper["columns"]:
    return tuple(row[paper["columns"].index(column)])
  cell = paper.get("text_numbers", {}).get("rows", {}).get(name, {}).get(column)
  return tuple(cell) if cell else None


def _pct(mean, std):
  return "-" if mean is None else f"{100 * mean:.2f} ± {100 * std:.2f}"


def _paper_cell(ref):
  if ref is None:
    return "-"
  return f"{ref[0]:.2f}" + ("" if ref[1] is None else f" ± {ref[1]:.2f}")


def method_rows(records, paper):
  """Markdown rows (dataset, n, method) -> mean ± std over seeds of the selected player."""
  groups = {}
  for record in records:
    key = (record.get("dataset", "mnist"), record.get("n"), record.get("method"))
    groups.setdefault(key, []).append(record)
  order = lambda k: (k[0], k[1], METHOD_ORDER.index(k[2]) if k[2] in METHOD_ORDER else 99)
  lines = ["| dataset | n | method | seeds | pretrained | selected on val (honest) | best test "
           "(authors' rule) | paper | game s/run | pretraining s/run |",
           "|---|---|---|---|---|---|---|---|---|---|"]
  for key in sorted(groups, key=order):
    runs = groups[key]
    prefix = "t" if runs[0].get("selected_player") == "teacher" else "c"
    pretrained = mean_std([get_path(r, ("game", "pretrained", prefix + "_test_{metric}"))
                           for r in runs])
    honest = mean_std([get_path(r, ("game", "selected", "test_{metric}")) for r in runs])
    best = mean_std([get_path(r, ("game", "authors_protocol", "test_{metric}")) for r in runs])
    game_s = mean_std([sum(e["seconds"] for e in get_path(r, ("game", "epochs")) or [])
                       for r in runs])
    pre_s = mean_std([sum(p.get("seconds", 0.0) for p in (r.get("pretrain") or {}).values())
                      for r in runs])
    ref = paper_number(paper, *key)
    lines.append(
        f"| {key[0]} | {key[1]} | {key[2]} | {len(runs)} "
        f"(seeds {','.join(str(r.get('seed')) for r in sorted(runs, key=lambda r: r['seed']))})"
        f" | {_pct(*pretrained)} | **{_pct(*honest)}** | {_pct(*best)} | "
        f"{_paper_cell(ref)} | "
        f"{game_s[0]:.0f} | {pre_s[0]:.0f} |")
  return lines


def main(argv):
  dirs = argv[1:]
  if dirs and dirs[0] == "--by_method":
    records = []
    for d in dirs[1:]:
      record = _read(d)
      if record.get("finished"):
        records.append(record)
    paper = load_paper_table1()
    print("\n".join(method_rows(records, paper)))
    print(f"\nPaper column: {paper['source']}.")
    return 0
  if not dirs:
    print(__doc__.strip().splitlines()[0], file=sys.stderr)
    return 2
  rows = [(d, run_row(_read(d))) for d in dirs]
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
