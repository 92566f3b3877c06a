"""The generated Table 2 report: measures over seeds, KDGAN minus each method paired by seed,
what D's loss and the generators' mass on true labels did, cost per run, and Figure 3b.

Pure aggregation of records (kdgan_tf/table2.py writes and archives them), so a report is
regenerated from a clean checkout with `python -m kdgan_tf.table2 --report_only`.
"""
import datetime
import math
import os
import platform
import re

from kdgan_tf import figures
from kdgan_tf import outputs
from kdgan_tf.grid.stats import mean_std  # (mean, sample std, count), as Table 1's
from kdgan_tf.tasks import TAG_METRICS

# Appendix D tables (`python -m kdgan_tf.export --compression_table`), as Table 1's report reads.
APPENDIX_D_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "results", "appendix_d")
COLUMNS = ("P@3", "P@5", "F@3", "F@5", "MAP", "MRR")
AUTHORS_COLUMNS = ("F@3_authors", "F@5_authors")
NAMES = {"kdgan": "KDGAN", "supervised_c": "SUPERVISED-C", "supervised_t": "SUPERVISED-T "
         "(teacher, reads the privileged view)", "mimic": "MIMIC", "distn": "DISTN",
         "noisy": "NOISY", "codis": "CODIS", "nagan": "NaGAN", "kdgan_wo_gm": "KDGAN-WO-GM",
         "knn": "KNN", "tprop": "TPROP", "tfeat": "TFEAT", "rexmp": "REXMP"}
FIG3B = ("nagan", "kdgan_wo_gm", "kdgan")


def _fmt(stats, digits=4):
  if stats is None:
    return "-"
  mean, std, count = stats
  return f"{mean:.{digits}f} ± {std:.{digits}f} ({count})"


def run_measures(record):
  """The selected player's test measures at its validation-selected epoch."""
  selected = record["game"]["selected"]
  return {m: selected.get(f"test_{m}") for m in TAG_METRICS}


def rows(runs, baselines):
  """[(name, {metric: [values by seed]}, {seed: {metric: value}}, note)] in Table order."""
  out = []
  methods = sorted({m for m, _ in runs}, key=lambda m: list(NAMES).index(m))
  for method in methods:
    by_seed = {s: run_measures(r) for (m, s), r in sorted(runs.items()) if m == method}
    out.append((method, by_seed, ""))
  for name in sorted({n for n, _ in baselines}, key=lambda m: list(NAMES).index(m)):
    by_seed = {s: {k: r.get(k) for k in TAG_METRICS} for (n, s), r in sorted(baselines.items())
               if n == name}
    deterministic = any(r.get("deterministic") for (n, _), r in baselines.items() if n == name)
    params = baselines[(name, 0)]["params"] if (name, 0) in baselines else "?"
    out.append((name, by_seed, f"hyperparameters {params} (validation P@3)"
                + ("; deterministic: one fit" if deterministic else "")))
  return out


def paired(by_seed_a, by_seed_b, metric, deterministic=False):
  """a minus b over the seeds both have (a deterministic b is the same value for every seed)."""
  if deterministic and len(by_seed_b) == 1:
    (only,) = by_seed_b.values()
    by_seed_b = {s: only for s in by_seed_a}
  diffs = [by_seed_a[s][metric] - by_seed_b[s][metric] for s in by_seed_a if s in by_seed_b]
  return mean_std(diffs)


def _verdict(stats):
  if stats is None or stats[2] < 2:
    return "-"
  mean, std, _ = stats
  if abs(mean) <= std:
    return "tie (within one std)"
  return "KDGAN ahead" if mean > 0 else "KDGAN behind"


def _table_lines(table_rows):
  head = ["method", *COLUMNS, *AUTHORS_COLUMNS, "notes"]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for name, by_seed, note in table_rows:
    cells = [_fmt(mean_std([v[m] for v in by_seed.values()])) for m in COLUMNS + AUTHORS_COLUMNS]
    lines.append(f"| {NAMES.get(name, name)} | " + " | ".join(cells) + f" | {note} |")
  return lines


def _paired_lines(table_rows):
  kdgan = dict((n, b) for n, b, _ in table_rows).get("kdgan")
  if not kdgan:
    return ["No KDGAN runs yet."]
  lines = ["| KDGAN minus | P@3 | verdict | MAP | verdict |", "|---|---|---|---|---|"]
  for name, by_seed, note in table_rows:
    if name == "kdgan":
      continue
    fixed = "deterministic" in note
    p3, ap = paired(kdgan, by_seed, "P@3", fixed), paired(kdgan, by_seed, "MAP", fixed)
    lines.append(f"| {NAMES.get(name, name)} | {_fmt(p3)} | {_verdict(p3)} | {_fmt(ap)} | "
                 f"{_verdict(ap)} |")
  return lines


def d_curves(records):
  """{epoch: (d_loss, w, floor) mean over the records} of the game epochs."""
  by_epoch = {}
  for record in records:
    for e in record["game"]["epochs"]:
      by_epoch.setdefault(e["epoch"], []).append(e)
  out = {}
  for epoch, entries in sorted(by_epoch.items()):
    out[epoch] = tuple(mean_std([e.get(k) for e in entries]) for k in
                       ("d_loss", "d_true_mass", "d_loss_floor"))
  return out


def _d_lines(title, records):
  curves = d_curves(records)
  if not curves or all(v[1] is None for v in curves.values()):
    return [f"{title}: no records with D's diagnostics (d_true_mass, d_loss_floor) yet."]
  lines = [f"{title} ({len(records)} runs; mean over runs; chance 2 ln 2 = "
           f"{2 * math.log(2):.4f}):", "",
           "| game epoch | D's loss | w (mass on true labels) | D's best loss given w (and u) | "
           "gap |", "|---|---|---|---|---|"]
  shown = sorted(curves)
  if len(shown) > 20:  # long games: the first epochs, every fifth, and the last
    shown = [e for e in shown if e <= 3 or e % 5 == 0 or e == shown[-1]]
  for epoch in shown:
    loss, w, floor = curves[epoch]
    gap = None if loss is None or floor is None else loss[0] - floor[0]
    lines.append(f"| {epoch} | {_fmt(loss)} | {_fmt(w)} | {_fmt(floor)} | "
                 f"{'-' if gap is None else f'{gap:.4f}'} |")
  return lines


def _mnist_diagnosis(folder):
  if not folder or not os.path.isdir(folder):
    return []
  out = []
  for root, _, files in sorted(os.walk(folder)):
    if "metrics.json" in files:
      record = outputs.read_json(os.path.join(root, "metrics.json"), default=None)
      if record and record.get("method") == "kdgan" and record.get("finished"):
        out.append(record)
  return out


def _cost_lines(runs, drivers, baselines):
  lines = ["| method | runs | wall s per run (driver) | game s per run | pretraining s (own) |",
           "|---|---|---|---|---|"]
  for method in sorted({m for m, _ in runs}, key=lambda m: list(NAMES).index(m)):
    keys = [k for k in runs if k[0] == method]
    wall = mean_std([(drivers.get(k) or {}).get("wall_seconds") for k in keys])
    game = mean_std([sum(e.get("seconds", 0) for e in runs[k]["game"]["epochs"]) for k in keys])
    own = mean_std([sum(i.get("seconds", 0) for i in runs[k]["pretrain"].values()
                        if "cached_from" not in i) for k in keys])
    lines.append(f"| {NAMES[method]} | {len(keys)} | {_fmt(wall, 0)} | {_fmt(game, 0)} | "
                 f"{_fmt(own, 0)} |")
  for name in sorted({n for n, _ in baselines}, key=lambda m: list(NAMES).index(m)):
    keys = [k for k in baselines if k[0] == name]
    wall = mean_std([baselines[k].get("wall_seconds") for k in keys])
    lines.append(f"| {NAMES[name]} | {len(keys)} | {_fmt(wall, 0)} (seed 0: search + test) | - "
                 "| - |")
  return lines


def fig3b(runs, results_dir):
  """Validation and test P@3 per game epoch for NaGAN, KDGAN-WO-GM and KDGAN, ±1 std bands."""
  data, csv_rows = {}, []
  for method in FIG3B:
    records = [r for (m, _), r in sorted(runs.items()) if m == method]
    if not records:
      continue
    data[method] = {}
    for split in ("val", "test"):
      by_epoch = {}
      for r in records:
        for e in r["game"]["epochs"]:
          by_epoch.setdefault(e["epoch"], []).append(e.get(f"c_{split}_P@3"))
      stats = {ep: mean_std(v) for ep, v in sorted(by_epoch.items())}
      data[method][split] = stats
      csv_rows += [{"method": method, "split": split, "epoch": ep, "mean": s[0], "std": s[1],
                    "runs": s[2]} for ep, s in stats.items() if s]
  if not data:
    return None
  outputs.write_csv(os.path.join(results_dir, "fig3b_p3_per_epoch.csv"), csv_rows)
  plt = figures.pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
  for ax, split in zip(axes, ("val", "test")):
    for method, d in data.items():
      epochs = sorted(e for e, s in d[split].items() if s)
      mean = [d[split][e][0] for e in epochs]
      std = [d[split][e][1] for e in epochs]
      ax.plot(epochs, mean, label=NAMES[method])
      ax.fill_between(epochs, [m - s for m, s in zip(mean, std)],
                      [m + s for m, s in zip(mean, std)], alpha=0.2)
    ax.set_title(f"{'validation' if split == 'val' else 'test'} P@3")
    ax.set_xlabel("game epoch")
  axes[0].legend()
  figures.save_figure(plt, fig, os.path.join(results_dir, "fig3b_p3_per_epoch.png"))
  return "fig3b_p3_per_epoch.png"


def _default_weight(results_dir, param):
  """KDGAN's value of `param` in the grid's runs (from an archived config.gin), or None."""
  records = os.path.join(results_dir, "records")
  for name in sorted(os.listdir(records)) if os.path.isdir(records) else []:
    path = os.path.join(records, name, "config.gin")
    if name.startswith("kdgan_s") and os.path.exists(path):
      match = re.search(rf"^KDGAN\.{param} = (\S+)$", open(path).read(), re.M)
      if match:
        return float(match.group(1))
  return None


def fig5(runs, sweeps, results_dir):
  """Validation and test P@3 of KDGAN against each of alpha, beta, gamma; the point at the
  recipe's own value is the grid's KDGAN run of the same seeds. Returns (lines, png name)."""
  if not sweeps:
    return [], None
  seeds = sorted({s for _, _, s in sweeps})
  csv_rows, data = [], {}
  for param in sorted({p for p, _, _ in sweeps}):
    points = {v: [r for (p, v2, s), r in sweeps.items() if p == param and v2 == v]
              for v in {v for p, v, _ in sweeps if p == param}}
    default = _default_weight(results_dir, param)
    if default is not None:
      points[default] = [runs[("kdgan", s)] for s in seeds if ("kdgan", s) in runs]
    data[param] = {}
    for value in sorted(points):
      measures = [run_measures(r) for r in points[value]]
      val = mean_std([r["game"]["selected"].get("val_P@3") for r in points[value]])
      test = mean_std([m["P@3"] for m in measures])
      data[param][value] = (val, test)
      csv_rows.append({"param": param, "value": value, "default": value == default,
                       "val_P@3_mean": val and val[0], "test_P@3_mean": test and test[0],
                       "test_P@3_std": test and test[1], "runs": test and test[2]})
  outputs.write_csv(os.path.join(results_dir, "fig5_weights_p3.csv"), csv_rows)
  plt = figures.pyplot()
  fig, axes = plt.subplots(1, len(data), figsize=(4 * len(data), 3.5), sharey=True)
  for ax, (param, by_value) in zip(list(getattr(axes, "flat", [axes])), sorted(data.items())):
    values = [v for v in sorted(by_value) if by_value[v][1]]
    for index, split in ((0, "validation"), (1, "test")):
      ax.plot(values, [by_value[v][index][0] for v in values], marker="o", label=split)
    if param != "alpha":
      ax.set_xscale("log")
    ax.set_xlabel(param)
  axes_list = list(getattr(axes, "flat", [axes]))
  axes_list[0].set_ylabel("P@3 of C")
  axes_list[0].legend()
  figures.save_figure(plt, fig, os.path.join(results_dir, "fig5_weights_p3.png"))
  lines = [f"KDGAN with one weight changed at a time ({len(seeds)} seed(s): {seeds}); the "
           "recipe's own value is the grid's KDGAN run (marked *). Selected on validation "
           "P@3, test P@3 there.", "", "| weight | value | validation P@3 | test P@3 |",
           "|---|---|---|---|"]
  for param, by_value in sorted(data.items()):
    default = _default_weight(results_dir, param)
    for value, (val, test) in sorted(by_value.items()):
      lines.append(f"| {param} | {value:g}{' *' if value == default else ''} | {_fmt(val)} | "
                   f"{_fmt(test)} |")
  return lines, "fig5_weights_p3.png"


def write(results_dir, dataset, runs, baselines, drivers, command, quick, mnist_folder=None,
          sweeps=None):
  """Writes REPORT.md and table2.csv into results_dir; returns the report text."""
  os.makedirs(results_dir, exist_ok=True)
  table_rows = rows(runs, baselines)
  csv = []
  for name, by_seed, note in table_rows:
    for seed, measures in sorted(by_seed.items()):
      csv.append(dict(method=name, seed=seed, note=note, **measures))
  outputs.write_csv(os.path.join(results_dir, "table2.csv"), csv)
  figure = fig3b(runs, results_dir)
  sample = next(iter(runs.values()), None)
  lines = [f"# Table 2 on {dataset} (generated)", "",
           f"Generated by `{command}` on "
           f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, "
           f"{platform.machine()} with {os.cpu_count()} CPUs, TensorFlow "
           f"{(sample or {}).get('tensorflow', '?')}. Do not edit by hand.", ""]
  if quick:
    lines += ["**QUICK SMOKE RUN**: tiny players, a few epochs, one point per baseline search. "
              "The numbers mean nothing.", ""]
  if sample:
    lines += [f"Data: `{sample['dataset']}`: {sample['n']} training, {sample['validation_size']} "
              f"validation, {sample['test_size']} test images; the classifier reads the view(s) "
              f"{sample['player_views'].get('classifier')}, the teacher and discriminator "
              f"{sample['player_views'].get('teacher')} / "
              f"{sample['player_views'].get('discriminator')}. Every method: the recipe of "
              "gin_configs/tagrec.gin (not tuned), the epoch of the best validation P@3, test "
              "measures there; mean ± std over seeds (count in brackets). KDGAN's β = 2, "
              "DISTN's ρ = 0.7 and τ = 3 and NOISY's r = σ = 0.1 are the values of the authors' "
              "MNIST scripts, which chose them on the test set; they are kept for every method "
              "alike, not re-tuned here. NOISY is the authors' variant (every logit times a "
              "dropout mask plus noise).", ""]
  lines += ["The paper's Table 2 is on YFCC100M (not available offline), so it has no column "
            f"here: these are numbers of the methods on {dataset}, not a comparison with the "
            "paper. F@N is the harmonic mean of P@N and R@N; F@N_authors uses R-precision "
            "instead (what the paper's evaluation computed, kdgan_tf/tagrec/metrics.py).", "",
            "## Table 2", ""] + _table_lines(table_rows)
  lines += ["", "## KDGAN minus each method, paired by seed", "",
            "Mean ± std of the per-seed difference (a deterministic baseline is one value for "
            "every seed); 'tie' when |mean| <= std.", ""] + _paired_lines(table_rows)
  kdgan_runs = [r for (m, _), r in sorted(runs.items()) if m == "kdgan"]
  lines += ["", "## Why the game helps or not: D's loss, the generators' mass w on true labels, "
            "and D's best achievable loss given the generators", "",
            "D's best loss per example is sum_k (u_k + q_k) ln(u_k + q_k) - u_k ln u_k - "
            "q_k ln q_k (u: the true labels' distribution; q: the generators' mixture; "
            "losses.discriminator_loss_floor); with one true label it is (1 + w) ln(1 + w) - "
            "w ln w, 2 ln 2 at w = 1. A D loss at its floor has nothing left to learn; a small "
            "floor means the generators still put little mass on the true labels, so D can "
            "tell them apart.", ""]
  lines += _d_lines(f"KDGAN on {dataset}", kdgan_runs) + [""]
  lines += _d_lines("KDGAN on MNIST n = 100 (honest protocol, results/d_diagnosis)",
                    _mnist_diagnosis(mnist_folder))
  lines += ["", "## Cost per run", "", "Wall-clock from driver.json (the whole run, pretraining "
            "included where this run did it); game seconds summed over epochs.", ""]
  lines += _cost_lines(runs, drivers, baselines)
  if not quick:  # the deployed classifier beside its teacher, where it has been measured
    from kdgan_tf.export import compression_table  # pylint: disable=g-import-not-at-top
    lines += compression_table.report_lines(APPENDIX_D_DIR, dataset)
  if figure:
    lines += ["", "## Figure 3b", "", f"![Figure 3b]({figure}) (`fig3b_p3_per_epoch.csv`: "
              "validation and test P@3 of C per game epoch, mean ± std over seeds)."]
  fig5_lines, fig5_png = fig5(runs, sweeps or {}, results_dir)
  lines += ["", "## Figure 5", ""] + (
      fig5_lines + ["", f"![Figure 5]({fig5_png}) (`fig5_weights_p3.csv`)."] if fig5_png else
      ["Not run yet: `bash run.sh table2-corel5k --figure5_seeds=N` trains the sweep."])
  text = "\n".join(lines) + "\n"
  outputs.atomic_write_text(os.path.join(results_dir, "REPORT.md"), text)
  return text
