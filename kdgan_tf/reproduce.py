"""Reproduce Table 1 (MNIST, CIFAR-10) under two labelled protocols, resumably, with a report.

    python -m kdgan_tf.reproduce table1-mnist [--quick] [--seeds=10] [--ns=100,1000,10000]
    python -m kdgan_tf.reproduce table1-cifar10 [--quick] [--ns=500,5000,25000,50000]
    python -m kdgan_tf.reproduce report [--dataset=cifar10] [--runs_dir=...]  # aggregate only
    python -m kdgan_tf.reproduce figures [--quick] [--figure_seeds=3]   # Figures 3a, 4, 7

Protocols (every output names the one it comes from):
  honest   a fixed stratified n-subset per n (subset_seed 0), seeds vary the players'
           initialisation and sampling; the epoch is selected on the validation split and the
           test accuracy there is reported as mean ± std over seeds (what the paper says it did);
  authors  what the authors' code did (../shared/reference/original-kdgan-facts.md §0, §1): the
           last n images of the original MNIST file order, random affine augmentation in the
           game, the authors' loss weights, and the BEST TEST accuracy seen during training,
           reported per run and as mean ± std (gin_configs/authors*.gin).

One model_dir per (protocol, n, method, seed) under --runs_dir; a finished run is skipped, an
interrupted one resumes, and a finished run's outputs are never touched. Runs share one
pretraining cache per (protocol, n) folder, so each player is pretrained once per seed.
"""
import collections
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
import traceback

from absl import app
from absl import flags

import kdgan_tf  # noqa: F401  (sets the Keras backend first)
import gin

from kdgan_tf import claims
from kdgan_tf import game_diagnostics
from kdgan_tf import grid_datasets
from kdgan_tf import outputs
from kdgan_tf import summarize
from kdgan_tf.errors import UserError

FLAGS = flags.FLAGS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Appendix D tables (python -m kdgan_tf.export --compression_table), one folder per dataset_n.
APPENDIX_D_DIR = os.path.join(REPO, "results", "appendix_d")
METHOD_FILES = ("supervised_c", "mimic", "distn", "noisy", "codis", "nagan", "kdgan_wo_gm",
                "kdgan", "supervised_t")
MNIST = grid_datasets.DATASETS["mnist"]
PROTOCOL_FILES = ("honest", "authors")
PROTOCOL_TEXT = {"honest": grid_datasets.HONEST_TEXT, "authors": MNIST.authors_text}


TABLE_PROTOCOLS = ("honest", "authors")
PAPER_NS = {"mnist": (100, 1000, 10000), "cifar10": (500, 25000, 50000)}  # Table 1's columns
# Figure 4: each of KDGAN's weights varied alone over the paper's search ranges (section 4),
# the others at mnist.gin's values; honest protocol, n = 100.
SENSITIVITY = {"alpha": (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0),
               "beta": (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0),
               "gamma": (0.0001, 0.001, 0.01, 0.1, 1.0, 10.0, 100.0)}
SENSITIVITY_QUICK = {"alpha": (0.1, 0.9), "beta": (0.1, 10.0), "gamma": (0.001, 1.0)}


DRIVER_FILE = "driver.json"  # how the driver trained a run: wall-clock, CPU sharing
GRID_BINDINGS_FILE = "grid_bindings.json"  # a grid's --gin_bindings, fixed at its first call
SAME_AS_FILE = "same_as.json"  # a run that IS another run (same configuration): where it lives


class Run:
  """One cell of a grid and its model_dir; `variant` names extra bindings (Figure 4).

  `same_as`: another Run with the same configuration (a Figure 4 point at the default weights
  is the Table 1 KDGAN run of that seed): that one is trained, once, and this folder only
  points to it (SAME_AS_FILE)."""

  def __init__(self, protocol, n, method, seed, runs_dir, variant="", extra_bindings=(),
               same_as=None, dataset=MNIST, dataset_name=None):
    self.protocol, self.n, self.method, self.seed = protocol, int(n), method, int(seed)
    self.variant, self.extra_bindings = variant, list(extra_bindings)
    self.runs_dir, self.same_as, self.dataset = runs_dir, same_as, dataset
    name = f"{method}_{variant}_s{seed}" if variant else f"{method}_s{seed}"
    # Named by the data the runs load (grid_datasets.resolved_name), not by the grid's key.
    self.model_dir = os.path.join(runs_dir, protocol,
                                  f"{dataset_name or dataset.key}_n{self.n}", name)

  def gin_files(self, quick=False):
    # The sensitivity and probe runs use the honest recipe.
    protocol = "authors" if self.protocol == "authors" else "honest"
    return (grid_datasets.protocol_files(self.dataset, protocol, self.n)
            + [f"{self.method}.gin"] + (["quick.gin"] if quick else []))

  def bindings(self, original_order_npz, extra):
    # A finished run's checkpoints (~300 MB) are not outputs: 360 runs would fill the disk.
    out = [f"run_experiment.seed = {self.seed}", f"load_image_classification.n = {self.n}",
           "run_experiment.keep_checkpoints = False"]
    if self.protocol == "authors" and self.dataset.needs_original_npz:
      out.append(f"load_image_classification.original_order_npz = '{original_order_npz}'")
    return out + self.extra_bindings + list(extra)

  def finished(self):
    """Trained to the end here, or (same_as) linked to a finished run."""
    return read_finished_record(self.model_dir) is not None

  def link(self):
    """Writes this folder's pointer to its same_as run."""
    os.makedirs(self.model_dir, exist_ok=True)
    outputs.write_json(os.path.join(self.model_dir, SAME_AS_FILE),
                       {"model_dir": os.path.relpath(self.same_as.model_dir, self.model_dir)})


def read_finished_record(model_dir):
  """metrics.json of a finished run in model_dir, following a SAME_AS_FILE; else None."""
  pointer = outputs.read_json(os.path.join(model_dir, SAME_AS_FILE), default=None)
  for folder in [model_dir] + ([os.path.join(model_dir, pointer["model_dir"])] if pointer else []):
    record = outputs.read_json(os.path.join(folder, "metrics.json"), default=None)
    if record and record.get("finished"):
      return record
  return None


def grid(protocols, ns, methods, seeds, runs_dir, dataset=MNIST, dataset_name=None):
  """Seed-major order inside each n, so a partial reproduction has complete seeds."""
  return [Run(p, n, m, s, runs_dir, dataset=dataset, dataset_name=dataset_name)
          for n in ns for s in range(seeds) for p in protocols for m in methods]


def sensitivity_grid(values, seeds, runs_dir, defaults=None):
  """KDGAN runs for Figure 4; they reuse the honest n = 100 players' pretraining cache. A point
  at the configured value (`defaults`, e.g. {"alpha": 0.5}) is the honest Table 1 KDGAN run of
  that seed, so it points to that run instead of training a copy."""
  cache = os.path.join(runs_dir, "honest", "mnist_n100", "pretrain_cache")
  defaults = defaults or {}
  return [Run("sensitivity", 100, "kdgan", seed, runs_dir, variant=f"{param}{value:g}",
              extra_bindings=[f"KDGAN.{param} = {value!r}",
                              f"run_experiment.pretrain_cache_dir = '{cache}'"],
              same_as=(Run("honest", 100, "kdgan", seed, runs_dir)
                       if defaults.get(param) == value else None))
          for seed in range(seeds) for param, grid_values in values.items()
          for value in grid_values]


def kdgan_defaults(extra_bindings=(), gin_files=("mnist.gin", "kdgan.gin")):
  """KDGAN's configured weights {alpha, beta, gamma}, read from the gin files themselves (and
  the grid's extra bindings, which every run gets too)."""
  from kdgan_tf.config import parse_config  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  try:
    parse_config(list(gin_files), list(extra_bindings))
    return {param: gin.query_parameter(f"KDGAN.{param}") for param in SENSITIVITY}
  finally:
    gin.clear_config()


def probe_grid(seeds, runs_dir):
  """KDGAN runs with the gradient-variance probe, for Figure 7 (honest n = 100 players)."""
  cache = os.path.join(runs_dir, "honest", "mnist_n100", "pretrain_cache")
  return [Run("probe", 100, "kdgan", seed, runs_dir,
              extra_bindings=["run_experiment.epoch_probe = @gradient_variance_probe",
                              f"run_experiment.pretrain_cache_dir = '{cache}'"])
          for seed in range(seeds)]


def parse_shard(text):
  """"i/k" -> (i, k): this worker trains the runs whose seed is i modulo k. Seeds never share
  a run folder or a pretraining-cache entry, so k workers (one per core, or per machine on a
  shared disk) never collide; the cache's atomic publish covers the rest."""
  try:
    index, count = (int(part) for part in text.split("/"))
  except ValueError:
    index, count = -1, 0
  if not 0 <= index < count:
    raise UserError(f"--shard={text}: expected i/k with 0 <= i < k, e.g. --shard=0/2 and "
                    "--shard=1/2 for two workers.")
  return index, count


def in_shard(runs, shard):
  index, count = shard
  return [run for run in runs if run.seed % count == index]


def default_original_order_npz():
  for candidate in (os.path.join(REPO, "..", "shared", "data", "mnist.npz"),
                    os.path.expanduser("~/.keras/datasets/mnist.npz")):
    if os.path.exists(candidate):
      return os.path.abspath(candidate)
  return None


def train_run(gin_files, bindings, model_dir):
  """Trains (or resumes) one run in-process; returns None or the error text."""
  from kdgan_tf import experiment  # pylint: disable=g-import-not-at-top
  from kdgan_tf.config import parse_config  # pylint: disable=g-import-not-at-top
  from kdgan_tf.data import image_classification  # pylint: disable=g-import-not-at-top
  image_classification.keep_decoded_arrays()  # decoded once per grid process, not per run
  gin.clear_config()
  try:
    parse_config(gin_files, bindings)
    experiment.run_experiment(model_dir, log=lambda message: None)
    return None
  except UserError as e:
    return str(e).splitlines()[0]
  except Exception:  # pylint: disable=broad-except  (one failed run must not stop the grid)
    return traceback.format_exc(limit=3)
  finally:
    gin.clear_config()


# --------------------------------------------------------------------------------- aggregation
def _get(record, *path):
  return summarize.get_path(record, path)


def run_seconds(record):
  """(pretraining seconds spent in this run, game seconds)."""
  pretrain = sum(p.get("seconds", 0.0) for p in (record.get("pretrain") or {}).values())
  game = sum(e.get("seconds", 0.0) for e in _get(record, "game", "epochs") or [])
  return pretrain, game


def teacher_final_test(record):
  """T's test accuracy at the end of the game: its last evaluation in the game if the method
  trains T, else (a frozen T) its pretrained accuracy; None without a teacher."""
  evaluated = [e["t_test_accuracy"] for e in _get(record, "game", "epochs") or []
               if e.get("t_test_accuracy") is not None]
  return evaluated[-1] if evaluated else _get(record, "game", "pretrained", "t_test_accuracy")


def collapse_epoch(record):
  """First game epoch at which the reported player's validation accuracy fell below half of its
  pretrained value (e.g. NaGAN's C collapsing onto one label; it may recover later), or None.
  Half, not a multiple of chance, so that it needs no class count and suits any dataset."""
  prefix = "t" if record.get("selected_player") == "teacher" else "c"
  before = _get(record, "game", "pretrained", f"{prefix}_val_accuracy")
  if before is None:
    return None
  for epoch in _get(record, "game", "epochs") or []:
    val = epoch.get(f"{prefix}_val_accuracy")
    if val is not None and val < 0.5 * before:
      return epoch.get("epoch")
  return None


def run_row(protocol, record, driver=None):
  """The per-run CSV row: both selection rules, whatever the protocol. `driver`: the run's
  DRIVER_FILE (how many other runs shared the machine while it trained), if any; a run that
  resumed an earlier attempt has seconds from attempts the driver did not watch: unknown."""
  pretrain_s, game_s = run_seconds(record)
  driver = {} if not driver or driver.get("resumed_earlier_attempt") else driver
  prefix = "t" if record.get("selected_player") == "teacher" else "c"
  return {
      "protocol": protocol, "dataset": record.get("dataset"), "n": record.get("n"),
      "method": record.get("method"), "seed": record.get("seed"),
      "selected_player": record.get("selected_player", "classifier"),
      "pretrained_test": _get(record, "game", "pretrained", f"{prefix}_test_accuracy"),
      "collapse_epoch": collapse_epoch(record),
      "selected_epoch": _get(record, "game", "selected", "epoch"),
      "selected_val": _get(record, "game", "selected", "val_accuracy"),
      "selected_test": _get(record, "game", "selected", "test_accuracy"),
      "best_test_epoch": _get(record, "game", "authors_protocol", "epoch"),
      "best_test": _get(record, "game", "authors_protocol", "test_accuracy"),
      "last_test": _get(record, "game", "last", "test_accuracy"),
      "teacher_pretrained_test": _get(record, "game", "pretrained", "t_test_accuracy"),
      "teacher_final_test": teacher_final_test(record),
      "pretrain_seconds": round(pretrain_s, 1), "game_seconds": round(game_s, 1),
      "train_size": record.get("train_size", record.get("n")),
      "augment": record.get("augment"), "tensorflow": record.get("tensorflow"),
      "other_runs_in_progress": driver.get("other_runs_in_progress"),
      "max_load_average_1min": driver.get("max_load_average_1min"),
      **game_diagnostics.diagnostic_fields(record),
  }


def finished_in(cell_folder):
  """(name, run folder, record) of every finished run directly inside cell_folder (a
  same_as link counts as its target's run), in name order."""
  for name in sorted(os.listdir(cell_folder)) if os.path.isdir(cell_folder) else []:
    record = read_finished_record(os.path.join(cell_folder, name))
    if record:
      yield name, os.path.join(cell_folder, name), record


def finished_runs(runs_dir, kinds=TABLE_PROTOCOLS):
  """(protocol, run folder, record) of every FINISHED run below
  runs_dir/<protocol>/<dataset_n>/<run>/metrics.json whose protocol is in `kinds` (Table 1's
  by default), in a fixed order."""
  for protocol in sorted(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else []:
    if protocol not in kinds:
      continue
    for cell in sorted(os.listdir(os.path.join(runs_dir, protocol))):
      for _, folder, record in finished_in(os.path.join(runs_dir, protocol, cell)):
        yield protocol, folder, record


def collect(runs_dir):
  """Rows of every finished run below runs_dir (see `finished_runs`)."""
  return [run_row(protocol, record, outputs.read_json(os.path.join(folder, DRIVER_FILE)))
          for protocol, folder, record in finished_runs(runs_dir)]


RECORD_FILES = ("metrics.json", "config.gin", DRIVER_FILE, SAME_AS_FILE)
# Every kind of run the report or the figures read: Table 1's protocols, Figure 4's sweep and
# Figure 7's probed runs.
ARCHIVED_KINDS = TABLE_PROTOCOLS + ("sensitivity", "probe")


def archive_records(runs_dir, results_dir):
  """Copies each finished run's record (metrics.json with every curve, config.gin, and a
  link's same_as.json) to results_dir/records/<protocol>/<cell>/<run>/, small enough to commit
  beside the report, so every number in REPORT.md can be traced to the run that produced it
  and regenerated from a fresh clone (`restore_records`); the grid's bindings go beside them.
  Returns the count."""
  count = 0
  for _, source, _ in finished_runs(runs_dir, ARCHIVED_KINDS):
    target = os.path.join(results_dir, "records", os.path.relpath(source, runs_dir))
    os.makedirs(target, exist_ok=True)
    for file_name in RECORD_FILES:
      if os.path.exists(os.path.join(source, file_name)):
        shutil.copyfile(os.path.join(source, file_name), os.path.join(target, file_name))
    count += 1
  bindings = os.path.join(runs_dir, GRID_BINDINGS_FILE)
  if count and os.path.exists(bindings):
    os.makedirs(os.path.join(results_dir, "records"), exist_ok=True)
    shutil.copyfile(bindings, os.path.join(results_dir, "records", GRID_BINDINGS_FILE))
  return count


def restore_records(results_dir, runs_dir):
  """The inverse of `archive_records`, for a checkout without the run folders (a fresh clone,
  or runs/ lost): each archived finished run whose folder is missing below runs_dir is copied
  back, so `report` regenerates REPORT.md from the committed records and the grid skips those
  runs instead of training them again. The grid's bindings come back too, and nothing is
  restored into a runs_dir recorded with other bindings (the runs would mix two
  configurations). A run folder that exists is never replaced. Each folder is copied to a
  temporary folder in runs_dir and renamed, so a killed restore leaves no half run. Returns the
  count."""
  records = os.path.join(results_dir, "records")
  archived = outputs.read_json(os.path.join(records, GRID_BINDINGS_FILE), default=None)
  current = outputs.read_json(os.path.join(runs_dir, GRID_BINDINGS_FILE), default=None)
  if archived is not None and current is not None and archived != current:
    print(f"Records in {records} not restored: they were run with --gin_bindings {archived}, "
          f"{runs_dir} with {current}.", file=sys.stderr)
    return 0
  count = 0
  for _, source, _ in finished_runs(records, ARCHIVED_KINDS):
    target = os.path.join(runs_dir, os.path.relpath(source, records))
    if os.path.exists(target):
      continue
    os.makedirs(os.path.dirname(target), exist_ok=True)
    # Outside every cell the report reads, unique per process (workers may restore at once).
    partial = tempfile.mkdtemp(prefix=".restoring-", dir=runs_dir)
    try:
      shutil.copytree(source, partial, dirs_exist_ok=True)
      os.rename(partial, target)
      count += 1
    except OSError:
      if not os.path.exists(target):
        raise
    finally:  # after a rename the folder is gone; else another worker restored it first
      shutil.rmtree(partial, ignore_errors=True)
  if count and archived is not None and current is None:
    outputs.write_json(os.path.join(runs_dir, GRID_BINDINGS_FILE), archived)
  return count


def mean_std(values):
  values = [v for v in values if v is not None]
  if not values:
    return None
  return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0,
          len(values))


def reported_value(row):
  """The number each protocol reports: validation-selected test accuracy (honest) or the best
  test accuracy seen (authors)."""
  return row["selected_test"] if row["protocol"] == "honest" else row["best_test"]


def table(rows):
  """{(method, n): {protocol: (mean, std, seeds)}} of the reported value, in percent."""
  cells = {}
  for row in rows:
    value = reported_value(row)
    cells.setdefault((row["method"], row["n"]), {}).setdefault(row["protocol"], []).append(
        None if value is None else 100.0 * value)
  return {key: {p: mean_std(v) for p, v in by.items()} for key, by in cells.items()}


def paired_differences(rows, reference="kdgan"):
  """{(protocol, n, method): (mean, std, seeds)} of reference minus method, in points, over
  the seeds both finished. Paired by seed: same subset and, within a protocol, the same
  pretrained players, so this is the fair test of "beats X beyond one standard deviation"."""
  values = {(r["protocol"], r["n"], r["method"], r["seed"]): reported_value(r) for r in rows}
  out = {}
  for (protocol, n, method, seed), value in sorted(values.items()):
    if method == reference or method == "supervised_t" or value is None:
      continue
    own = values.get((protocol, n, reference, seed))
    if own is not None:
      out.setdefault((protocol, n, method), []).append(100.0 * (own - value))
  return {key: mean_std(d) for key, d in out.items()}


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


INHERITED_HYPERPARAMETERS = (
    "KDGAN's β = 2, DISTN's ρ = 0.7 and τ = 3 and NOISY's r = σ = 0.1 come from the authors' "
    "scripts, which chose them on the test set; every method keeps them under both protocols "
    "(none is re-tuned on validation), so those rows carry that choice. NOISY is the authors' "
    "variant (every logit times a dropout mask plus Gaussian noise), not Sau & Balasubramanian's "
    "(1 + ξ)·z on a fraction of the samples.")


def report_markdown(rows, paper, command, quick, grid_bindings=(), dataset_name="mnist",
                    authors_text=None, data_note=""):
  """REPORT.md: Table 1 side by side (paper | honest | authors), then how it was made.

  `grid_bindings` (the grid's grid_bindings.json) change every run's recipe, so they are named
  under the protocols, not only in the command (a `report` call does not repeat them)."""
  from kdgan_tf.summarize import paper_number, _paper_cell  # pylint: disable=g-import-not-at-top
  cells = table(rows)
  # The paper's three columns always appear (an n not run yet shows "–"), so a partial
  # reproduction cannot be mistaken for a complete one.
  # (Only for a dataset the paper has: another dataset shows no paper column at all.)
  paper_ns = PAPER_NS.get(dataset_name, ())
  ns = sorted({row["n"] for row in rows} | (set() if quick else set(paper_ns)))
  methods = [m for m in METHOD_FILES if any(row["method"] == m for row in rows)]
  shown_name = {"mnist": "MNIST", "cifar10": "CIFAR-10"}.get(dataset_name, dataset_name)
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
  columns = ("paper", "honest", "authors") if paper_ns else ("honest", "authors")
  header = ["method"] + [f"n = {n:,} {what}" for n in ns for what in columns]
  lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
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
  lines += _paired_lines(rows)
  lines += _teacher_lines(rows)
  lines += _game_effect_lines(rows)
  lines += game_diagnostics.diagnostic_lines(rows)
  lines += _cost_lines(rows)
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
  from kdgan_tf.summarize import PAPER_TABLE1  # pylint: disable=g-import-not-at-top
  with open(PAPER_TABLE1) as f:
    paper = json.load(f)
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


README_TABLE_MARKERS = ("<!-- Table 1 from REPORT.md: written by `python -m kdgan_tf.reproduce "
                        "report`, do not edit by hand -->", "<!-- end of Table 1 -->")


def update_readme_table(readme_path, report_text):
  """Copies REPORT.md's Table 1 between README's two markers (README_TABLE_MARKERS), so the
  README never shows other numbers than the report. Returns False, README untouched, when it
  lacks the markers or the report has no table."""
  begin, end = README_TABLE_MARKERS
  table = []
  for line in report_text.splitlines():
    if line.startswith("| method |") or (table and line.startswith("|")):
      table.append(line)
    elif table:
      break
  readme = open(readme_path, encoding="utf-8").read() if os.path.exists(readme_path) else ""
  if not table or begin not in readme or end not in readme.split(begin, 1)[1]:
    return False
  head, rest = readme.split(begin, 1)
  tail = rest.split(end, 1)[1]
  outputs.atomic_write_text(readme_path, head + begin + "\n\n" + "\n".join(table) + "\n\n"
                            + end + tail)  # blank lines: Markdown renders the table apart
  return True


Attempt = collections.namedtuple("Attempt", ["held", "trained", "error", "seconds"],
                                 defaults=(False, None, 0.0))
"""What one try at a run under its claim did: `held` is False when another worker holds the
run; `trained` is False when it was finished (by another worker) since the driver looked;
`error` is the failure's traceback text (None when it trained fine); `seconds` its wall-clock
under the claim."""


def attempt(target, quick, npz, extra_bindings):
  """Trains `target` if this worker can claim it; a run that trained fine gets its DRIVER_FILE
  (wall-clock, whether it shared the machine, whether it resumed an earlier attempt), which
  REPORT.md's cost table needs to be read right."""
  start = time.time()
  with claims.Claim(target.model_dir, target.runs_dir) as claim:
    if not claim.held:
      return Attempt(held=False)
    if target.finished():
      return Attempt(held=True)
    resumed = any(name != claims.CLAIM_FILE for name in os.listdir(target.model_dir))
    error = train_run(target.gin_files(quick), target.bindings(npz, extra_bindings),
                      target.model_dir)
  seconds = time.time() - start
  if not error:
    outputs.write_json(os.path.join(target.model_dir, DRIVER_FILE),
                       {"wall_seconds": round(seconds, 1),
                        "other_runs_in_progress": claim.max_others,
                        "max_load_average_1min": claim.max_load,
                        "resumed_earlier_attempt": resumed,
                        "cpu_count": os.cpu_count(), "host": platform.node()})
  return Attempt(held=True, trained=True, error=error, seconds=seconds)


def execute(runs, quick, npz, extra_bindings, max_runs=0, wait_seconds=60.0):
  """Trains the unfinished runs in order; returns the failures (one failure never stops it).

  A run is trained only under its claim (kdgan_tf.claims, see `attempt`), so workers sharing a
  grid pass over each other's runs in progress; once through the list, this worker waits for
  the runs it passed over until each is finished (by the other worker) or its claim is dead
  (then it is trained here), so a call never ends with a run silently left out."""
  trained, failures = 0, []
  pending = list(enumerate(runs))
  while pending:
    passed_over = []
    for i, run in pending:
      if run.finished():
        continue
      target = run.same_as or run
      variant = f" {run.variant}" if run.variant else ""
      label = f"[{i + 1}/{len(runs)}] " + (
          getattr(run, "label", None)
          or f"{run.protocol} n={run.n} {run.method}{variant} seed {run.seed}")
      if target is not run and target.finished():
        run.link()
        print(f"{label}: is {target.model_dir}, already finished", flush=True)
        continue
      if max_runs and trained >= max_runs:
        print(f"stopping after {trained} runs (--max_runs); rerun to continue.")
        return failures
      result = attempt(target, quick, npz, extra_bindings)
      if not result.held:
        passed_over.append((i, run))
        continue
      if target is not run and target.finished():  # trained here, or by another worker
        run.link()
      if not result.trained:  # another worker finished it since we looked
        continue
      trained += 1
      if result.error:
        failures.append({"model_dir": target.model_dir, "error": result.error})
      status = ("FAILED: " + result.error.strip().splitlines()[-1] if result.error
                else "done")
      shown = (f" (as {os.path.relpath(target.model_dir, run.runs_dir)})"
               if target is not run else "")
      print(f"{label}{shown}: {status} ({result.seconds:.0f} s)", flush=True)
    if passed_over:
      print(f"{len(passed_over)} runs are held by other workers; waiting for them to finish "
            f"(checking every {wait_seconds:.0f} s).", flush=True)
      time.sleep(wait_seconds)
    pending = passed_over
  return failures


def check_same_bindings(runs_dir, bindings):
  """A grid keeps its finished runs, so its extra bindings must not change between calls."""
  path = os.path.join(runs_dir, GRID_BINDINGS_FILE)
  previous = outputs.read_json(path, default=None)
  if previous is None:
    os.makedirs(runs_dir, exist_ok=True)
    outputs.write_json(path, list(bindings))
    return None
  if previous != list(bindings):
    return (f"{runs_dir} was run with --gin_bindings {previous}, now {list(bindings)}: "
            "finished runs would mix two configurations; use another --runs_dir.")
  return None


def record_failures(runs_dir, failures):
  """failures.json lists the failed runs that have not finished since: this call's failures
  plus earlier ones (another worker's too) still unfinished; removed when none is left."""
  path = os.path.join(runs_dir, "failures.json")
  new = {f["model_dir"] for f in failures}
  os.makedirs(runs_dir, exist_ok=True)
  with outputs.locked(path):  # two workers finishing at once must not lose an entry
    kept = [f for f in outputs.read_json(path, default=[]) or []
            if f["model_dir"] not in new and read_finished_record(f["model_dir"]) is None]
    if kept + list(failures):
      outputs.write_json(path, kept + list(failures))
    elif os.path.exists(path):
      os.remove(path)


def sensitivity_points(runs_dir):
  """[(param, value, record)] of every finished Figure 4 run, read from the folder names
  (`kdgan_<param><value>_s<seed>`), so a partial sweep is reported as far as it got."""
  points = []
  for name, _, record in finished_in(os.path.join(runs_dir, "sensitivity", "mnist_n100")):
    match = re.fullmatch(r"kdgan_(%s)(.+)_s\d+" % "|".join(SENSITIVITY), name)
    if match:
      points.append((match.group(1), float(match.group(2)), record))
  return points


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


def define_flags():
  """Flags of the command line; defined only when run as a program, so that importing this
  module (tests, notebooks) never clashes with kdgan_tf.train's flags."""
  flags.DEFINE_bool("quick", False, "A minutes-long smoke version of the grid (tiny players, few "
                    "epochs, one seed): checks the machinery, its numbers mean nothing.")
  flags.DEFINE_integer("seeds", 10, "Seeds 0 .. seeds-1 per (protocol, n, method).")
  flags.DEFINE_list("ns", None, "Training-set sizes n (default: the dataset's, e.g. "
                    "100,1000,10000 for MNIST, 500,5000,25000,50000 for CIFAR-10; --quick: the "
                    "first).")
  flags.DEFINE_string("dataset", "mnist", "The grid `report` aggregates (table1-<dataset> "
                      "names it itself).")
  flags.DEFINE_list("methods", None, "Methods (default: all of Table 1 plus SUPERVISED-C/T).")
  flags.DEFINE_list("protocols", ["honest", "authors"], "Protocols to run.")
  flags.DEFINE_string("runs_dir", None, "Where the run folders go (default "
                      "runs/table1_<dataset>, or runs/table1_<dataset>_quick with --quick).")
  flags.DEFINE_string("report_dir", None, "Where REPORT.md and the CSV/JSON go (default: the "
                      "repository root and results/table1_mnist for MNIST, results/table1_<dataset> for "
                      "the others; with --quick: inside runs_dir).")
  flags.DEFINE_string("original_order_npz", None, "Keras-layout mnist.npz in the original file "
                      "order, for the authors' last-n subset (default ../shared/data/mnist.npz "
                      "if it exists, else Keras' download cache ~/.keras/datasets/mnist.npz).")
  flags.DEFINE_multi_string("gin_bindings", [], "Extra bindings applied to every run.")
  flags.DEFINE_integer("figure_seeds", 3, "Seeds per point of the Figure 4 sweep.")
  flags.DEFINE_string("shard", "0/1", "i/k: train only the runs whose seed is i modulo k, so k "
                      "workers (same flags, shards 0/k .. k-1/k) share one grid.")
  flags.DEFINE_integer("max_runs", 0, "Stop after this many runs were trained (0: no limit).")


def main(argv):
  grids = [f"table1-{key}" for key in grid_datasets.DATASETS]
  if len(argv) != 2 or argv[1] not in grids + ["report", "figures"]:
    print(f"usage: python -m kdgan_tf.reproduce {'|'.join(grids)}|report|figures [--quick] "
          "[flags]", file=sys.stderr)
    return 2
  quick = FLAGS.quick
  key = argv[1][len("table1-"):] if argv[1].startswith("table1-") else FLAGS.dataset
  if key not in grid_datasets.DATASETS or (argv[1] == "figures" and key != "mnist"):
    print(f"kdgan_tf.reproduce: error: --dataset={key}: choose from "
          f"{list(grid_datasets.DATASETS)} (figures: mnist only).", file=sys.stderr)
    return 2
  dataset = grid_datasets.DATASETS[key]
  try:
    dataset_name = grid_datasets.resolved_name(dataset, FLAGS.gin_bindings)
  except Exception as e:  # pylint: disable=broad-except  (a bad binding: one sentence)
    print(f"kdgan_tf.reproduce: error: --gin_bindings: {str(e).splitlines()[0]}",
          file=sys.stderr)
    return 2
  # Absolute paths: they are bound into gin configs, which a resumed run must match exactly.
  runs_dir = os.path.abspath(FLAGS.runs_dir or os.path.join(
      REPO, "runs", f"table1_{dataset_name}_quick" if quick else f"table1_{dataset_name}"))
  # MNIST's report is the repository's REPORT.md; any other dataset's lives beside its records.
  default_results = os.path.join(REPO, "results", f"table1_{dataset_name}")
  report_dir = FLAGS.report_dir or (runs_dir if quick else (
      REPO if dataset_name == "mnist" else default_results))
  results_dir = (os.path.join(report_dir, "results") if quick or FLAGS.report_dir
                 else default_results)
  command = "python -m kdgan_tf.reproduce " + " ".join(shlex.quote(a) for a in argv[1:] + [
      a for a in sys.argv[1:] if a.startswith("--")])
  failures = []
  try:
    shard = parse_shard(FLAGS.shard)
  except UserError as e:
    print(f"kdgan_tf.reproduce: error: {e}", file=sys.stderr)
    return 2
  # The grid whose records are committed: only it restores them and rewrites README's table
  # (never a grid whose bindings load another dataset than the grid's own).
  default_grid = not (quick or FLAGS.runs_dir or FLAGS.report_dir) and dataset_name == key
  if default_grid:
    restored = restore_records(results_dir, runs_dir)
    if restored:
      print(f"{restored} finished runs restored into {runs_dir} from "
            f"{os.path.join(results_dir, 'records')} (their run folders were missing).")
  npz = FLAGS.original_order_npz or (default_original_order_npz()
                                     if dataset.needs_original_npz else None)
  npz = os.path.abspath(npz) if npz else None
  if argv[1] != "report":
    error = check_same_bindings(runs_dir, FLAGS.gin_bindings)
    if error:
      print(f"kdgan_tf.reproduce: error: {error}", file=sys.stderr)
      return 2
  if argv[1] == "figures":
    seeds = 1 if quick else FLAGS.figure_seeds
    sweep = sensitivity_grid(SENSITIVITY_QUICK if quick else SENSITIVITY, seeds, runs_dir,
                             defaults=kdgan_defaults(FLAGS.gin_bindings))
    failures = execute(in_shard(probe_grid(seeds, runs_dir) + sweep, shard), quick, npz,
                       FLAGS.gin_bindings, FLAGS.max_runs)
    record_failures(runs_dir, failures)
  if argv[1].startswith("table1-"):
    methods = FLAGS.methods or list(METHOD_FILES)
    unknown = sorted(set(methods) - set(METHOD_FILES))
    bad_protocols = sorted(set(FLAGS.protocols) - set(PROTOCOL_FILES))
    if unknown or bad_protocols:
      print(f"kdgan_tf.reproduce: error: unknown methods {unknown} or protocols "
            f"{bad_protocols}; choose from {list(METHOD_FILES)} and {list(PROTOCOL_FILES)}.",
            file=sys.stderr)
      return 2
    if "authors" in FLAGS.protocols and dataset.needs_original_npz and not npz:
      print("kdgan_tf.reproduce: error: the authors' protocol needs MNIST in its original file "
            "order: pass --original_order_npz=PATH (a Keras-layout mnist.npz, e.g. from "
            "keras.datasets.mnist.load_data() online, or ../shared/data/mnist.npz here).",
            file=sys.stderr)
      return 2
    seeds = 1 if quick else FLAGS.seeds
    default_ns = [int(n) for n in FLAGS.ns or dataset.default_ns]
    ns = [default_ns[0]] if quick and not FLAGS.ns else default_ns
    runs = in_shard(grid(FLAGS.protocols, ns, methods, seeds, runs_dir, dataset, dataset_name),
                    shard)
    failures = execute(runs, quick, npz, FLAGS.gin_bindings, FLAGS.max_runs)
    record_failures(runs_dir, failures)
  figures_dir = (results_dir if quick or FLAGS.report_dir
                 else os.path.join(REPO, "results", "figures"))
  figure_lines, drawn = (write_figures(runs_dir, figures_dir) if dataset_name == "mnist"
                         else ([], 0))
  rows = collect(runs_dir)
  if not rows:
    print(f"kdgan_tf.reproduce: error: no finished runs below {runs_dir}; nothing to report "
          "(an existing REPORT.md is left as it is).", file=sys.stderr)
    return 1 if failures else (0 if drawn else 2)
  failed = outputs.read_json(os.path.join(runs_dir, "failures.json"), default=[]) or []
  text = write_report(rows, report_dir, results_dir, command, quick, failed, figure_lines,
                      outputs.read_json(os.path.join(runs_dir, GRID_BINDINGS_FILE), default=[])
                      or [], dataset_name, dataset.authors_text,
                      dataset.data_note if dataset_name == key else "")
  if default_grid and dataset_name == "mnist" and update_readme_table(
      os.path.join(REPO, "README.md"), text):
    print("README.md's Table 1 updated from REPORT.md.")
  archived = archive_records(runs_dir, results_dir)
  print(f"{len(rows)} finished runs summarised in {os.path.join(report_dir, 'REPORT.md')}; "
        f"{archived} run records in {os.path.join(results_dir, 'records')}")
  return 1 if failures else 0

if __name__ == "__main__":
  define_flags()
  app.run(main)
