"""The paper's figures from run folders: the data as CSV, the plot as PNG.

Figure 3a: C's validation and test accuracy per game epoch at n = 100 for NaGAN, KDGAN-WO-GM
and KDGAN (mean over seeds with a ±1 std band; epoch 0 = the pretrained C), and each run's
epochs-to-converge: the first game epoch whose validation accuracy reaches 99 % of the run's
best game epoch (the paper: KDGAN about 25, NaGAN about 135, in the authors' epochs of
20 D / 10 T / 10 C passes; ours are mnist.gin's 5 / 2 / 2, so compare ratios, not counts).
Because C starts pretrained, and at n = 100 the pretrained C is already within about 1 % of
its best, that rule fires early; the figure therefore also gives the first epoch reaching 90 %
of the run's gain over the pretrained C (no gain: counted apart).

Figure 4: KDGAN's test (and validation) accuracy at the validation-selected epoch against each
of α, β and γ varied alone (n = 100, honest protocol; log axes for β and γ), mean ± std over
seeds.

Figure 7: the variance of C's gradient from D (concrete pathwise and score-function
estimators) and from T over the game epochs, measured by kdgan_tf/probes.py on KDGAN runs (the
same trajectory for all three sources), mean over seeds, log scale; beside it, where the runs
recorded the squared mean gradient, the variance relative to it (noise relative to signal: the
raw variances differ by orders of magnitude because the sources' gradients do).
"""
import csv
import os
import statistics

from kdgan_tf import outputs

FIG3A_METHODS = ("nagan", "kdgan_wo_gm", "kdgan")
LABELS = {"nagan": "NaGAN", "kdgan_wo_gm": "KDGAN-WO-GM", "kdgan": "KDGAN"}
PAPER_EPOCHS_TO_CONVERGE = {"kdgan": 25, "nagan": 135}  # paper section 4.1 text


def epochs_to_converge(history, key="c_val_accuracy", fraction=0.99):
  """First epoch whose `key` reaches `fraction` of the run's best; None without values."""
  values = [(e["epoch"], e[key]) for e in history if e.get(key) is not None]
  if not values:
    return None
  target = fraction * max(v for _, v in values)
  return next(epoch for epoch, v in values if v >= target)


def epochs_to_gain(history, key="c_val_accuracy", fraction=0.9):
  """First game epoch closing `fraction` of the gap between epoch 0 (the pretrained C) and
  the best game epoch; None when the game never beats epoch 0 (or there are no values)."""
  values = [(e["epoch"], e[key]) for e in history if e.get(key) is not None]
  if len(values) < 2 or values[0][0] != 0:
    return None
  start, game = values[0][1], values[1:]
  best = max(v for _, v in game)
  if best <= start:
    return None
  return next(epoch for epoch, v in game if v >= start + fraction * (best - start))


def mean_curve(histories, key):
  """[(epoch, mean, std, count)] over the runs that have `key` at that epoch."""
  by_epoch = {}
  for history in histories:
    for entry in history:
      if entry.get(key) is not None:
        by_epoch.setdefault(entry["epoch"], []).append(entry[key])
  return [(epoch, statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v))
          for epoch, v in sorted(by_epoch.items())]


def fig3a_data(records):
  """{method: {"val": curve, "test": curve, "converge": [epochs per run]}} for NaGAN, WO-GM, KDGAN."""
  out = {}
  for method in FIG3A_METHODS:
    histories = [[r["game"]["pretrained"]] + r["game"]["epochs"] for r in records
                 if r.get("method") == method and r.get("finished")]  # epoch 0 = pretrained
    if histories:
      out[method] = {"val": mean_curve(histories, "c_val_accuracy"),
                     "test": mean_curve(histories, "c_test_accuracy"),
                     "converge": [epochs_to_converge(h[1:]) for h in histories],
                     "gain": [epochs_to_gain(h) for h in histories]}
  return out


def write_fig3a(records, folder):
  """Writes fig3a.csv, fig3a_converge.csv and fig3a.png into `folder`; returns the data."""
  data = fig3a_data(records)
  os.makedirs(folder, exist_ok=True)
  rows = [{"method": m, "split": split, "epoch": e, "mean": mu, "std": sd, "runs": k}
          for m, d in data.items() for split in ("val", "test") for e, mu, sd, k in d[split]]
  outputs.write_csv(os.path.join(folder, "fig3a.csv"), rows,
                    ["method", "split", "epoch", "mean", "std", "runs"])
  converge = [{"method": m, "runs": len(d["converge"]),
               "epochs_to_converge_mean": statistics.fmean(d["converge"]),
               "epochs_to_converge_per_run": " ".join(map(str, d["converge"])),
               "paper": PAPER_EPOCHS_TO_CONVERGE.get(m, ""),
               "epochs_to_90pct_gain_per_run": " ".join(
                   "none" if g is None else str(g) for g in d["gain"])}
              for m, d in data.items() if all(c is not None for c in d["converge"])]
  outputs.write_csv(os.path.join(folder, "fig3a_converge.csv"), converge,
                    ["method", "runs", "epochs_to_converge_mean", "epochs_to_converge_per_run",
                     "paper", "epochs_to_90pct_gain_per_run"])
  if data:
    _plot_fig3a(data, os.path.join(folder, "fig3a.png"))
  return data


def fig4_data(points):
  """points: [(param, value, record)] -> {param: [(value, val mean, val std, test mean,
  test std, runs)]}, sorted by value."""
  groups = {}
  for param, value, record in points:
    selected = record["game"]["selected"]
    groups.setdefault(param, {}).setdefault(value, []).append(
        (selected["val_accuracy"], selected["test_accuracy"]))
  out = {}
  for param, by_value in groups.items():
    rows = []
    for value in sorted(by_value):
      vals, tests = zip(*by_value[value])
      spread = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
      rows.append((value, statistics.fmean(vals), spread(vals), statistics.fmean(tests),
                   spread(tests), len(tests)))
    out[param] = rows
  return out


def write_fig4(points, folder):
  """Writes fig4.csv and fig4.png; returns the data."""
  data = fig4_data(points)
  os.makedirs(folder, exist_ok=True)
  fields = ["param", "value", "val_mean", "val_std", "test_mean", "test_std", "runs"]
  outputs.write_csv(os.path.join(folder, "fig4.csv"),
                    [dict(zip(fields, (param,) + row)) for param, rows in data.items()
                     for row in rows], fields)
  plt = pyplot()
  params = [p for p in ("alpha", "beta", "gamma") if p in data]
  fig, axes = plt.subplots(1, len(params), figsize=(4 * len(params), 3.5), squeeze=False)
  for ax, param in zip(axes[0], params):
    rows = data[param]
    x = [r[0] for r in rows]
    for offset, label in ((1, "validation"), (3, "test")):
      ax.errorbar(x, [100 * r[offset] for r in rows], yerr=[100 * r[offset + 1] for r in rows],
                  marker="o", capsize=3, label=label)
    if param != "alpha":
      ax.set_xscale("log")
    ax.set_xlabel({"alpha": "α", "beta": "β", "gamma": "γ"}[param])
    ax.set_title(f"KDGAN vs {param} ({rows[0][5]} seeds)")
    ax.grid(alpha=0.3)
  axes[0][0].set_ylabel("accuracy at the selected epoch (%)")
  axes[0][0].legend()
  fig.tight_layout()
  save_figure(plt, fig, os.path.join(folder, "fig4.png"))
  return data


FIG7_SOURCES = {"var_grad_d_reinforce": "from D, score function (KDGAN-WO-GM's estimator)",
                "var_grad_d_concrete_pathwise": "from D, concrete relaxation (KDGAN's)",
                "var_grad_t": "from T (distillation)"}


def squared_mean_key(variance_key):
  """The probe's squared-mean-gradient metric beside a variance metric."""
  return "sqmean" + variance_key[len("var"):]


def write_fig7(records, folder):
  """Writes fig7.csv and fig7.png from runs with the gradient-variance probe; returns
  {metric: curve} for the variances and, where the runs recorded them, the squared means."""
  histories = [r["game"]["epochs"] for r in records if r.get("finished")]
  keys = [k for source in FIG7_SOURCES for k in (source, squared_mean_key(source))]
  data = {key: mean_curve(histories, key) for key in keys}
  data = {k: v for k, v in data.items() if v}
  if not any(k in FIG7_SOURCES for k in data):
    return {}
  os.makedirs(folder, exist_ok=True)
  outputs.write_csv(os.path.join(folder, "fig7.csv"),
                    [{"source": k, "epoch": e, "mean": mu, "std": sd, "runs": n}
                     for k, curve in data.items() for e, mu, sd, n in curve],
                    ["source", "epoch", "mean", "std", "runs"])
  plt = pyplot()
  sources = [k for k in FIG7_SOURCES if k in data]
  relative = {k: [(v[0], v[1] / q[1]) for v, q in zip(data[k], data[squared_mean_key(k)])
                  if q[1] > 0 and v[0] == q[0]]
              for k in sources if squared_mean_key(k) in data}
  fig, axes = plt.subplots(1, 2 if relative else 1, figsize=(12 if relative else 6, 3.8),
                           squeeze=False)
  ax = axes[0][0]
  for key in sources:
    curve = data[key]
    ax.plot([c[0] for c in curve], [c[1] for c in curve],
            color=f"C{list(FIG7_SOURCES).index(key)}",
            label=f"{FIG7_SOURCES[key]} ({curve[0][3]} seeds)")
  ax.set_yscale("log")
  ax.set_xlabel("game epoch")
  ax.set_ylabel("mean per-parameter variance")
  ax.set_title("Variance of C's gradient (KDGAN, MNIST n = 100)")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  if relative:  # the same variance over the squared mean gradient: noise relative to signal
    ax = axes[0][1]
    for key, curve in relative.items():
      ax.plot([c[0] for c in curve], [c[1] for c in curve],
              color=f"C{list(FIG7_SOURCES).index(key)}", label=FIG7_SOURCES[key])
    ax.set_yscale("log")
    ax.set_xlabel("game epoch")
    ax.set_ylabel("variance / squared mean gradient")
    ax.set_title("Relative to the gradient's size")
    ax.grid(alpha=0.3)
  fig.tight_layout()
  save_figure(plt, fig, os.path.join(folder, "fig7.png"))
  return data


def _read_csv(path):
  if not os.path.exists(path):
    return []
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


def read_fig4_csv(folder):
  """fig4.csv back into `write_fig4`'s data ({} without the file): the Figure 4 section of a
  report whose sweep runs are not in this checkout comes from the CSV those runs wrote."""
  out = {}
  for row in _read_csv(os.path.join(folder, "fig4.csv")):
    out.setdefault(row["param"], []).append(
        (float(row["value"]), float(row["val_mean"]), float(row["val_std"]),
         float(row["test_mean"]), float(row["test_std"]), int(row["runs"])))
  return out


def read_fig7_csv(folder):
  """fig7.csv back into `write_fig7`'s data ({} without the file), like `read_fig4_csv`."""
  out = {}
  for row in _read_csv(os.path.join(folder, "fig7.csv")):
    out.setdefault(row["source"], []).append(
        (int(row["epoch"]), float(row["mean"]), float(row["std"]), int(row["runs"])))
  return out


def pyplot():
  """matplotlib without a display (imported lazily: only the figure commands need it)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def save_figure(plt, fig, path):
  """Atomic PNG write: a killed run never leaves half a figure."""
  tmp = path[:-4] + ".tmp.png"
  fig.savefig(tmp, dpi=120)
  plt.close(fig)
  os.replace(tmp, path)


def _plot_fig3a(data, path):
  """Top row: the whole range (a collapsing NaGAN seed shows); bottom row: the KDGAN
  variants alone, zoomed on their band, where their differences are tenths of a point."""
  plt = pyplot()
  fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
  for r, row in enumerate(axes):
    for ax, split in zip(row, ("val", "test")):
      for method, d in data.items():
        if r == 1 and method == "nagan" and len(data) > 1:
          continue
        epochs = [c[0] for c in d[split]]
        mean = [100 * c[1] for c in d[split]]
        std = [100 * c[2] for c in d[split]]
        color = f"C{FIG3A_METHODS.index(method)}"
        ax.plot(epochs, mean, color=color, label=f"{LABELS[method]} ({d[split][0][3]} seeds)")
        ax.fill_between(epochs, [m - s for m, s in zip(mean, std)],
                        [m + s for m, s in zip(mean, std)], color=color, alpha=0.2)
      ax.set_title(f"C's {'validation' if split == 'val' else 'test'} accuracy")
      ax.grid(alpha=0.3)
  zoomed = [100 * (c[1] + sign * c[2]) for method, d in data.items() if method != "nagan"
            for split in ("val", "test") for c in d[split] for sign in (-1, 1)]
  for ax in axes[1]:
    ax.set_xlabel("game epoch")
    if zoomed:
      ax.set_ylim(min(zoomed) - 0.5, max(zoomed) + 0.5)
      ax.set_title(ax.get_title() + ", KDGAN variants zoomed")
  for ax in axes[:, 0]:
    ax.set_ylabel("accuracy (%)")
  axes[0][0].legend()
  fig.tight_layout()
  save_figure(plt, fig, path)


def summary_markdown(fig3a, fig4, fig7, folder, read_back=()):
  """REPORT.md's "Figures" section: where the files are and the numbers a reader checks
  first (epochs-to-converge, each weight's curve, variance ratios). Empty without data.
  `read_back`: the figures (e.g. ["4"]) whose runs were absent, so that their PNG and CSV were
  kept as they were and their tables read back from the CSV."""
  if not (fig3a or fig4 or fig7):
    return []
  names = " and ".join(read_back)
  csvs = " / ".join(f"fig{name}.csv" for name in read_back)
  kept = ([f"Figure{'s' if len(read_back) > 1 else ''} {names}: no finished runs below the "
           "runs folder, so not redrawn; the PNG and CSV files are kept as their runs wrote "
           f"them, and the Figure {names} tables further down are read back from {csvs}.", ""]
          if read_back else [])
  return (["", "## Figures (honest protocol, MNIST n = 100)", "",
           f"PNG and the CSV behind each in `{folder}`.", ""] + kept
          + (_fig3a_lines(fig3a) if fig3a else []) + (_fig4_lines(fig4) if fig4 else [])
          + (_fig7_lines(fig7) if fig7 else []))


def _fig3a_lines(fig3a):
  lines = ["**Figure 3a** (`fig3a.png`): C's validation accuracy per game epoch (epoch 0 = "
           "the pretrained C). Epochs to converge = first game epoch reaching 99 % of the "
           "run's best game epoch (the issue's rule; ours: 5 D / 2 T / 2 C passes per epoch, "
           "the paper's epochs hold 20 / 10 / 10). To 90 % of the gain = first game epoch "
           "closing 90 % of the gap from the pretrained C to the run's best (none: the game "
           "never beat the pretrained C).", "",
           "| method | runs | epochs to converge, mean (per run) | paper | to 90 % of the gain, "
           "per run | pretrained C val | best mean val (epoch) |",
           "|---|---|---|---|---|---|---|"]
  for method, d in fig3a.items():
    runs = [c for c in d["converge"] if c is not None]
    best = max(d["val"][1:] or d["val"], key=lambda c: c[1])
    gains = " ".join("none" if g is None else str(g) for g in d["gain"])
    converge = f"{statistics.fmean(runs):.1f} ({' '.join(map(str, runs))})" if runs else "–"
    lines.append(f"| {LABELS[method]} | {len(d['converge'])} | {converge} | "
                 f"{PAPER_EPOCHS_TO_CONVERGE.get(method, '–')} | {gains} | "
                 f"{100 * d['val'][0][1]:.2f} | {100 * best[1]:.2f} ({best[0]}) |")
  return lines + [""]


def _fig4_lines(fig4):
  lines = ["**Figure 4** (`fig4.png`): KDGAN at the validation-selected epoch, each weight "
           "varied alone (the others at mnist.gin's values). %, mean ± std over runs.", "",
           "| weight | value | validation | test | runs |", "|---|---|---|---|---|"]
  lines += [f"| {param} | {value:g} | {100 * vm:.2f} ± {100 * vs:.2f} | "
            f"{100 * tm:.2f} ± {100 * ts:.2f} | {k} |"
            for param in ("alpha", "beta", "gamma")
            for value, vm, vs, tm, ts, k in fig4.get(param, [])]
  return lines + [""]


def _fig7_lines(fig7):
  lines = ["**Figure 7** (`fig7.png`): mean per-parameter variance of C's gradient, by "
           "source, at the first, middle and last probed game epoch (mean over runs); the "
           "last column divides the last variance by the mean squared gradient (the mean "
           "over parameters of the squared mean over mini-batches), so a small variance can "
           "be told from a small gradient.", "",
           "| source | first | middle | last | last, variance / squared mean |",
           "|---|---|---|---|---|"]
  for key, curve in ((k, v) for k, v in fig7.items() if k in FIG7_SOURCES):
    picks = [curve[0], curve[len(curve) // 2], curve[-1]]
    squared = fig7.get(squared_mean_key(key))
    relative = f"{curve[-1][1] / squared[-1][1]:.3g}" if squared and squared[-1][1] else "–"
    lines.append(f"| {FIG7_SOURCES[key]} | " + " | ".join(
        f"{mu:.3g} (epoch {e})" for e, mu, _, _ in picks) + f" | {relative} |")
  pathwise, score = fig7.get("var_grad_d_concrete_pathwise"), fig7.get("var_grad_d_reinforce")
  ratios = [s[1] / p[1] for p, s in zip(pathwise or [], score or []) if p[1] > 0]
  if ratios:
    lines += ["", f"Score-function variance over concrete-pathwise variance, per epoch: "
              f"median {statistics.median(ratios):.3g}, range {min(ratios):.3g} to "
              f"{max(ratios):.3g}."]
  return lines + [""]
