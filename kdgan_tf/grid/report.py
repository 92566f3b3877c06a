"""REPORT.md and its companions: Table 1 beside the paper under both protocols, KDGAN minus each
method paired by seed, the teacher, what the game did, the diagnostics, the cost per run,
Appendix D, the figures section, runs.csv and table1.json (README's copy of Table 1 and the
root report's other halves: kdgan_tf.grid.report_sync).

Why apart: pure formatting of rows (kdgan_tf.grid.rows) and their statistics
(kdgan_tf.grid.stats); it trains nothing and reads no run folder except through `write_figures`,
so a report is regenerated from the committed records alone.
"""
import os
import platform
import statistics

from kdgan_tf import game_diagnostics
from kdgan_tf import grid_datasets
from kdgan_tf import outputs
from kdgan_tf.grid.definition import METHOD_FILES
from kdgan_tf.grid.definition import MNIST
from kdgan_tf.grid.definition import REPO
from kdgan_tf.grid.records import finished_in
from kdgan_tf.grid.records import sensitivity_points
from kdgan_tf.grid.rows import run_row
from kdgan_tf.grid.stats import mean_std
from kdgan_tf.grid.stats import paired_differences
from kdgan_tf.grid.stats import reported_value
from kdgan_tf.grid.stats import table

# Appendix D tables (python -m kdgan_tf.export --compression_table), one folder per dataset_n.
APPENDIX_D_DIR = os.path.join(REPO, "results", "appendix_d")
PROTOCOL_TEXT = {"honest": grid_datasets.HONEST_TEXT, "authors": MNIST.authors_text}
PAPER_NS = {"mnist": (100, 1000, 10000), "cifar10": (500, 25000, 50000)}  # Table 1's columns


def _paired_lines(rows):
  diffs = paired_differences(rows)
  if not diffs:
    return []
  lines = ["", "## KDGAN minus each method, paired by seed (points)", "",
           "Mean ± std of the per-seed difference of the reported numbers (seeds both "
           "finished). **beyond 1 std** when the mean exceeds its standard deviation "
           "(and at least 2 seeds).", "",
           "| protocol | n | method | KDGAN − method | beyond 1 std |", "|---|---|---|---|---|"]
  for (protocol, n, method), (mean, std, count) in sorted(diffs.items()):
    verdict = ("yes" if mean > std else ("no" if mean > -std else "no (method ahead)")
               ) if count > 1 else "n/a (1 seed)"
    lines.append(f"| {protocol} | {n:,} | {method} | {mean:+.2f} ± {std:.2f} ({count}) | "
                 f"{verdict} |")
  return lines


def _cells(rows, keep=lambda row: True):
  """[((protocol, n, method), rows)] of the kept rows, in the report's order (protocol, n, then
  the methods as in METHOD_FILES); every per-method section of REPORT.md walks these."""
  groups = {}
  for row in rows:
    if keep(row):
      groups.setdefault((row["protocol"], row["n"], row["method"]), []).append(row)
  return sorted(groups.items(),
                key=lambda item: (item[0][0], item[0][1], METHOD_FILES.index(item[0][2])))


def _teacher_lines(rows):
  """How good the teacher is that C distils from, before and after the game: a frozen teacher
  caps MIMIC / DISTN / NOISY, a teacher trained in the game (CODIS, KDGAN) can outgrow it."""
  cells = _cells(rows, lambda row: row.get("teacher_pretrained_test") is not None
                 and row["method"] != "supervised_t")
  if not cells:
    return []
  lines = ["", "## The teacher C learns from (T's test accuracy, %)", "",
           "Mean ± std over seeds, after pretraining and at the end of the game (the same "
           "number when the method keeps T frozen).", "",
           "| protocol | n | method | T pretrained | T at the end |", "|---|---|---|---|---|"]
  for key, group in cells:
    before = mean_std([100 * r["teacher_pretrained_test"] for r in group])
    after = mean_std([None if r["teacher_final_test"] is None else 100 * r["teacher_final_test"]
                      for r in group])
    lines.append(f"| {key[0]} | {key[1]:,} | {key[2]} | {_cell(before)} | {_cell(after)} |")
  return lines


def _game_effect_lines(rows):
  """The reported number beside the same player before the game, paired by run: a game that
  only degrades its player (the number is its first epoch, or worse) shows a negative change,
  and runs whose player collapsed during the game are counted with the epoch it happened."""
  cells = _cells(rows, lambda row: row.get("pretrained_test") is not None
                 and reported_value(row) is not None)
  if not cells:
    return []
  lines = ["", "## What the game did to the reported player (test accuracy, %)", "",
           "Before the game: the pretrained player every method starts from. Reported: the "
           "protocol's number (as in Table 1). Change: reported minus before, paired by run. "
           "Collapsed: runs in which the player's validation accuracy fell below half of its "
           "pretrained value at some game epoch (the first such epoch of each, in brackets; "
           "a run may recover later, and its reported number can still be above the "
           "pretrained one).", "",
           "| protocol | n | method | before the game | reported | change | collapsed |",
           "|---|---|---|---|---|---|---|"]
  for key, group in cells:
    before = mean_std([100 * r["pretrained_test"] for r in group])
    reported = mean_std([100 * reported_value(r) for r in group])
    change = mean_std([100 * (reported_value(r) - r["pretrained_test"]) for r in group])
    epochs = [r["collapse_epoch"] for r in group if r.get("collapse_epoch") is not None]
    collapsed = f"{len(epochs)} of {len(group)}" + (
        f" ({' '.join(str(e) for e in sorted(epochs))})" if epochs else "")
    lines.append(f"| {key[0]} | {key[1]:,} | {key[2]} | {_cell(before)} | {_cell(reported)} | "
                 f"{change[0]:+.2f} ± {change[1]:.2f} | {collapsed} |")
  return lines


def _cell(stats):
  if not stats:
    return "–"
  mean, std, count = stats
  return f"{mean:.2f} ± {std:.2f} ({count})"


def _cost_lines(rows):
  """Seconds per run; 'alone' keeps only the runs known to have trained with no other run of the
  grid in progress on their machine (at any sample, see kdgan_tf.claims), since runs sharing
  the CPU take longer; runs the driver did not watch whole are of unknown sharing. Other
  grids' runs and other processes are not claims: the machine's load average shows them."""
  lines = ["", "## Cost per run (seconds, mean over seeds)", "",
           "Game and pretraining: all finished runs. Alone: the runs known to have trained with "
           "no other run of this grid in progress on the same machine (`driver.json`); runs "
           "from before this was recorded, or resumed after an interruption, count as unknown. "
           "Other grids and other processes are not claims of this grid: the last column, "
           "the machine's highest 1-minute load average while the run trained (mean over the "
           "runs that recorded it), counts every process; compare it with the cores.", "",
           "| protocol | n | method | runs | game | pretraining in this run (0 = cached) "
           "| runs alone / shared / unknown | game, alone | max load |",
           "|---|---|---|---|---|---|---|---|---|"]
  for (protocol, n, method), group in _cells(rows):
    game = statistics.fmean(r["game_seconds"] for r in group)
    pre = statistics.fmean(r["pretrain_seconds"] for r in group)
    alone = [r for r in group if r.get("other_runs_in_progress") == 0]
    shared = [r for r in group if (r.get("other_runs_in_progress") or 0) > 0]
    unknown = len(group) - len(alone) - len(shared)
    alone_game = f"{statistics.fmean(r['game_seconds'] for r in alone):.0f}" if alone else "–"
    loads = [r["max_load_average_1min"] for r in group
             if r.get("max_load_average_1min") is not None]
    load = f"{statistics.fmean(loads):.1f} ({len(loads)})" if loads else "–"
    lines.append(f"| {protocol} | {n} | {method} | {len(group)} | {game:.0f} | {pre:.0f} "
                 f"| {len(alone)} / {len(shared)} / {unknown} | {alone_game} | {load} |")
  return lines


def _seed_cost_lines(rows):
  """What one seed of the whole grid cell costs: per (protocol, n), the seconds of each seed
  summed over its finished methods (a run's wall-clock seconds as the grid driver timed them,
  else its pretraining + game seconds). A seed pays each player's pretraining once (the run
  that pretrained it; later methods read the cache), so a seed with every method of
  METHOD_FILES is what a further seed costs on this machine; the others are partial."""
  seeds = {}
  for row in rows:
    seed = seeds.setdefault((row["protocol"], row["n"]), {}).setdefault(row["seed"], [0.0, 0])
    seed[0] += row.get("wall_seconds") or (
        (row["pretrain_seconds"] or 0.0) + (row["game_seconds"] or 0.0))
    seed[1] += 1
  lines = ["", "## What one seed costs (seconds, every method of a seed, pretraining included)",
           "", f"Complete: seeds in which all {len(METHOD_FILES)} methods finished. Each run "
           "counts its wall-clock seconds as the grid driver timed it (`driver.json`: data, "
           "pretraining, game, evaluation, export), or, where the driver did not watch the whole "
           "run, its pretraining + game seconds; pauses and other load on the machine are "
           "inside them (see the cost table above).", "",
           "| protocol | n | complete seeds | seconds per complete seed, mean (min – max) "
           "| partial seeds: methods finished, seconds so far |", "|---|---|---|---|---|"]
  for (protocol, n), by_seed in sorted(seeds.items()):
    complete = [total for total, count in by_seed.values() if count >= len(METHOD_FILES)]
    partial = [f"seed {seed}: {count}, {total:,.0f}" for seed, (total, count)
               in sorted(by_seed.items()) if count < len(METHOD_FILES)]
    cost = (f"{statistics.fmean(complete):,.0f} ({min(complete):,.0f} – {max(complete):,.0f})"
            if complete else "–")
    lines.append(f"| {protocol} | {n} | {len(complete)} | {cost} | {'; '.join(partial) or '–'} |")
  return lines


INHERITED_HYPERPARAMETERS = (
    "KDGAN's β = 2, DISTN's ρ = 0.7 and τ = 3 and NOISY's r = σ = 0.1 come from the authors' "
    "scripts, which chose them on the test set; every method keeps them under both protocols "
    "(none is re-tuned on validation), so those rows carry that choice. NOISY is the authors' "
    "variant (every logit times a dropout mask plus Gaussian noise), not Sau & Balasubramanian's "
    "(1 + ξ)·z on a fraction of the samples.")


def shown_dataset_name(dataset_name):
  return {"mnist": "MNIST", "cifar10": "CIFAR-10"}.get(dataset_name, dataset_name)


def table1_lines(rows, paper, dataset_name, quick):
  """Table 1's Markdown table for one dataset (a row per method, paper | honest | authors per
  n), and a line for each cell that trained on fewer images than n."""
  from kdgan_tf.summarize import paper_number, _paper_cell  # pylint: disable=g-import-not-at-top
  cells = table(rows)
  # The paper's columns and the grid's n values always appear (an n not run yet shows "–"), so
  # a partial reproduction cannot be mistaken for a complete one.
  # (Only for a dataset the paper has: another dataset shows no paper column at all.)
  paper_ns = PAPER_NS.get(dataset_name, ())
  grid = grid_datasets.DATASETS.get(dataset_name)
  planned = set() if quick else set(paper_ns) | set(grid.default_ns if grid else ())
  ns = sorted({row["n"] for row in rows} | planned)
  methods = [m for m in METHOD_FILES if any(row["method"] == m for row in rows)]
  columns = ("paper", "honest", "authors") if paper_ns else ("honest", "authors")
  header = ["method"] + [f"n = {n:,} {what}" for n in ns for what in columns]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for method in methods:
    row = [method]
    for n in ns:
      by = cells.get((method, n), {})
      row += ([_paper_cell(paper_number(paper, dataset_name, n, method))] if paper_ns else [])
      row += [_cell(by.get("honest")), _cell(by.get("authors"))]
    lines.append("| " + " | ".join(row) + " |")
  fewer = sorted({(r["protocol"], r["n"], r["train_size"]) for r in rows
                  if r.get("train_size") is not None and r["train_size"] != r["n"]})
  for protocol, n, size in fewer:
    lines.append(f"- **{protocol}, n = {n:,}**: every training image; with the validation split "
                 f"held out, the runs trained on {size:,} images.")
  return lines


def report_markdown(rows, paper, command, quick, grid_bindings=(), dataset_name="mnist",
                    authors_text=None, data_note=""):
  """REPORT.md: Table 1 side by side (paper | honest | authors), then how it was made.

  `grid_bindings` (the grid's grid_bindings.json) change every run's recipe, so they are named
  under the protocols, not only in the command (a `report` call does not repeat them)."""
  paper_ns = PAPER_NS.get(dataset_name, ())
  shown_name = shown_dataset_name(dataset_name)
  lines = [f"# Table 1 ({shown_name}), reproduced"
           + (" — QUICK SMOKE RUN, NOT A RESULT" if quick else ""),
           "",
           "Generated by `python -m kdgan_tf.reproduce` from the run folders; do not edit by hand.",
           "",
           "Each cell: test accuracy in %, mean ± std (number of seeds).",
           f"- **honest**: {PROTOCOL_TEXT['honest']}.",
           f"- **authors**: {authors_text or PROTOCOL_TEXT['authors']}.",
           (f"- **paper**: {paper['source']}." if paper_ns else
            f"- **paper**: the paper has no {shown_name} column; none is shown."),
           "- SUPERVISED-T reports the teacher; every other row the classifier C.",
           f"- **What the honest numbers inherit**: {INHERITED_HYPERPARAMETERS}"]
  if data_note:
    lines.append(f"- **Data**: {data_note}")
  named_bindings = "; ".join(f"`{b}`" for b in grid_bindings) or "none"
  if grid_bindings:
    lines.append("- **Every run of this grid also had these gin bindings** (both protocols): "
                 f"{named_bindings}.")
  lines.append("")
  lines += table1_lines(rows, paper, dataset_name, quick)
  lines += _paired_lines(rows)
  lines += _teacher_lines(rows)
  lines += _game_effect_lines(rows)
  lines += game_diagnostics.diagnostic_lines(rows)
  lines += _cost_lines(rows)
  lines += _seed_cost_lines(rows)
  if not quick:
    from kdgan_tf.export import compression_table  # pylint: disable=g-import-not-at-top
    lines += compression_table.report_lines(APPENDIX_D_DIR, dataset_name)
  tf_versions = sorted({str(r["tensorflow"]) for r in rows})
  lines += ["", "## How this was produced", "",
            f"- Command: `{command}`",
            f"- Extra gin bindings of every run (`grid_bindings.json`): {named_bindings}.",
            f"- Machine of the report: {platform.platform()}, {os.cpu_count()} CPU cores, "
            f"processor {platform.processor() or 'unknown'}.",
            f"- TensorFlow of the runs: {', '.join(tf_versions)}.",
            "- Per-run numbers: `runs.csv`; aggregates: `table1.json`.", ""]
  return "\n".join(lines)


def write_report(rows, report_dir, results_dir, command, quick, failures=(), extra_lines=(),
                 grid_bindings=(), dataset_name="mnist", authors_text=None, data_note=""):
  from kdgan_tf.summarize import load_paper_table1  # pylint: disable=g-import-not-at-top
  paper = load_paper_table1()
  os.makedirs(results_dir, exist_ok=True)
  os.makedirs(report_dir, exist_ok=True)
  outputs.write_csv(os.path.join(results_dir, "runs.csv"),
                    sorted(rows, key=lambda r: (r["protocol"], r["n"], r["method"], r["seed"])),
                    fields=list(run_row("honest", {}).keys()))
  summary = [{"method": m, "n": n, "protocol": p, "mean": s[0], "std": s[1], "seeds": s[2],
              "reported": "selected_test" if p == "honest" else "best_test"}
             for (m, n), by in sorted(table(rows).items()) for p, s in sorted(by.items()) if s]
  outputs.write_json(os.path.join(results_dir, "table1.json"),
                     {"paper_source": paper["source"], "cells": summary, "quick": quick,
                      "grid_bindings": list(grid_bindings)})
  text = report_markdown(rows, paper, command, quick, grid_bindings, dataset_name, authors_text,
                         data_note)
  if extra_lines:
    text += "\n".join(extra_lines) + "\n"
  if failures:
    text += ("\n## Runs that failed in the last call (left out of the table)\n\n"
             + "\n".join(f"- `{f['model_dir']}`: {f['error'].strip().splitlines()[-1]}"
                          for f in failures) + "\n")
  outputs.atomic_write_text(os.path.join(report_dir, "REPORT.md"), text)
  return text


def write_figures(runs_dir, folder):
  """Figure 3a from the honest n = 100 runs of the Table 1 grid, Figure 4 from the sweep,
  Figure 7 from the probed KDGAN runs, each from whatever has finished. A figure with no
  finished runs at all keeps the PNG and CSV already in `folder` (runs written before their
  records were archived) and its table is read back from that CSV. Returns REPORT.md's
  Figures section (empty when there is nothing to plot) and how many figures were drawn."""
  from kdgan_tf import figures  # pylint: disable=g-import-not-at-top
  def records(*cell):
    return [record for _, _, record in finished_in(os.path.join(runs_dir, *cell))]

  fig3a = figures.write_fig3a(records("honest", "mnist_n100"), folder)
  points = sensitivity_points(runs_dir)
  probed = records("probe", "mnist_n100")
  fig4 = figures.write_fig4(points, folder) if points else figures.read_fig4_csv(folder)
  fig7 = figures.write_fig7(probed, folder) if probed else figures.read_fig7_csv(folder)
  read_back = [name for name, runs, data in (("4", points, fig4), ("7", probed, fig7))
               if data and not runs]
  for name, data, what in (("3a", fig3a, "honest n = 100 NaGAN / KDGAN-WO-GM / KDGAN runs"),
                           ("4", fig4, "sensitivity runs"), ("7", fig7, "probed runs")):
    print(f"Figure {name} kept as it was: no finished {what} below {runs_dir}; its table is "
          f"read back from fig{name}.csv." if name in read_back else
          f"Figure {name} written to {folder}." if data else
          f"Figure {name} skipped: no finished {what} below {runs_dir}.")
  shown = os.path.relpath(folder, REPO) if folder.startswith(REPO) else folder
  drawn = sum(1 for name, data in (("3a", fig3a), ("4", fig4), ("7", fig7))
              if data and name not in read_back)
  return figures.summary_markdown(fig3a, fig4, fig7, shown, read_back), drawn
