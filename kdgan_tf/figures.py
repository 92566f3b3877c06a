"""The paper's figures from run folders: the data as CSV, the plot as PNG.

Figure 3a: C's validation and test accuracy per game epoch at n = 100 for NaGAN, KDGAN-WO-GM
and KDGAN (mean over seeds with a ±1 std band), and each run's epochs-to-converge: the first
epoch whose validation accuracy reaches 99 % of the run's best (the paper: KDGAN about 25,
NaGAN about 135, in the authors' epochs of 20 D / 10 T / 10 C passes; ours are
mnist.gin's 5 / 2 / 2, so compare ratios, not counts).

Figure 4: KDGAN's test (and validation) accuracy at the validation-selected epoch against each
of α, β and γ varied alone (n = 100, honest protocol; log axes for β and γ), mean ± std over
seeds.

Figure 7: the variance of C's gradient from D (concrete pathwise and score-function
estimators) and from T over the game epochs, measured by kdgan_tf/probes.py on KDGAN runs (the
same trajectory for all three sources), mean over seeds, log scale.
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
                     "converge": [epochs_to_converge(h) for h in histories]}
  return out


def write_fig3a(records, folder):
  """Writes fig3a.csv, fig3a_converge.csv and fig3a.png into `folder`; returns the data."""
  data = fig3a_data(records)
  os.makedirs(folder, exist_ok=True)
  rows = [{"method": m, "split": split, "epoch": e, "mean": mu, "std": sd, "runs": k}
          for m, d in data.items() for split in ("val", "test") for e, mu, sd, k in d[split]]
  _write_csv(os.path.join(folder, "fig3a.csv"), rows,
             ["method", "split", "epoch", "mean", "std", "runs"])
  converge = [{"method": m, "runs": len(d["converge"]),
               "epochs_to_converge_mean": statistics.fmean(d["converge"]),
               "epochs_to_converge_per_run": " ".join(map(str, d["converge"])),
               "paper": PAPER_EPOCHS_TO_CONVERGE.get(m, "")}
              for m, d in data.items() if all(c is not None for c in d["converge"])]
  _write_csv(os.path.join(folder, "fig3a_converge.csv"), converge,
             ["method", "runs", "epochs_to_converge_mean", "epochs_to_converge_per_run",
              "paper"])
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
  _write_csv(os.path.join(folder, "fig4.csv"),
             [dict(zip(fields, (param,) + row)) for param, rows in data.items() for row in rows],
             fields)
  plt = _pyplot()
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
  _save(plt, fig, os.path.join(folder, "fig4.png"))
  return data


FIG7_SOURCES = {"var_grad_d_reinforce": "from D, score function (KDGAN-WO-GM's estimator)",
                "var_grad_d_concrete_pathwise": "from D, concrete relaxation (KDGAN's)",
                "var_grad_t": "from T (distillation)"}


def write_fig7(records, folder):
  """Writes fig7.csv and fig7.png from runs with the gradient-variance probe; returns data."""
  histories = [r["game"]["epochs"] for r in records if r.get("finished")]
  data = {key: mean_curve(histories, key) for key in FIG7_SOURCES}
  data = {k: v for k, v in data.items() if v}
  if not data:
    return {}
  os.makedirs(folder, exist_ok=True)
  _write_csv(os.path.join(folder, "fig7.csv"),
             [{"source": k, "epoch": e, "mean": mu, "std": sd, "runs": n}
              for k, curve in data.items() for e, mu, sd, n in curve],
             ["source", "epoch", "mean", "std", "runs"])
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(6, 3.8))
  for key, curve in data.items():
    ax.plot([c[0] for c in curve], [c[1] for c in curve],
            label=f"{FIG7_SOURCES[key]} ({curve[0][3]} seeds)")
  ax.set_yscale("log")
  ax.set_xlabel("game epoch")
  ax.set_ylabel("mean per-parameter variance")
  ax.set_title("Variance of C's gradient (KDGAN, MNIST n = 100)")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  fig.tight_layout()
  _save(plt, fig, os.path.join(folder, "fig7.png"))
  return data


def _pyplot():
  """matplotlib without a display (imported lazily: only the figure commands need it)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def _save(plt, fig, path):
  """Atomic PNG write: a killed run never leaves half a figure."""
  tmp = path[:-4] + ".tmp.png"
  fig.savefig(tmp, dpi=120)
  plt.close(fig)
  os.replace(tmp, path)


def _write_csv(path, rows, fields):
  tmp = f"{path}.tmp"
  with open(tmp, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
  os.replace(tmp, path)


def _plot_fig3a(data, path):
  plt = _pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
  for ax, split in zip(axes, ("val", "test")):
    for method, d in data.items():
      epochs = [c[0] for c in d[split]]
      mean = [100 * c[1] for c in d[split]]
      std = [100 * c[2] for c in d[split]]
      line, = ax.plot(epochs, mean, label=f"{LABELS[method]} ({d[split][0][3]} seeds)")
      ax.fill_between(epochs, [m - s for m, s in zip(mean, std)],
                      [m + s for m, s in zip(mean, std)], color=line.get_color(), alpha=0.2)
    ax.set_xlabel("game epoch")
    ax.set_title(f"C's {'validation' if split == 'val' else 'test'} accuracy")
    ax.grid(alpha=0.3)
  axes[0].set_ylabel("accuracy (%)")
  axes[0].legend()
  fig.tight_layout()
  _save(plt, fig, path)


def load_records(folder):
  """Finished metrics.json records of the run folders directly inside `folder`."""
  records = []
  for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
    record = outputs.read_json(os.path.join(folder, name, "metrics.json"), default=None)
    if record and record.get("finished"):
      records.append(record)
  return records
