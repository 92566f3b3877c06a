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

This module is the command line only (flags, subcommands); the parts live in kdgan_tf/grid/:
definition (cells, run folders, gin files), scheduling (claims, driver.json, failures),
records (archive / restore), rows and stats (the numbers), report (REPORT.md, CSV, JSON,
figures section, README's table).
"""
import os
import shlex
import sys

from absl import app
from absl import flags

import kdgan_tf  # noqa: F401  (sets the Keras backend first)

from kdgan_tf import grid_datasets
from kdgan_tf import outputs
from kdgan_tf.errors import UserError
from kdgan_tf.grid.definition import GRID_BINDINGS_FILE
from kdgan_tf.grid.definition import METHOD_FILES
from kdgan_tf.grid.definition import PROTOCOL_FILES
from kdgan_tf.grid.definition import REPO
from kdgan_tf.grid.definition import SENSITIVITY
from kdgan_tf.grid.definition import SENSITIVITY_QUICK
from kdgan_tf.grid.definition import default_original_order_npz
from kdgan_tf.grid.definition import grid
from kdgan_tf.grid.definition import in_shard
from kdgan_tf.grid.definition import kdgan_defaults
from kdgan_tf.grid.definition import parse_shard
from kdgan_tf.grid.definition import probe_grid
from kdgan_tf.grid.definition import sensitivity_grid
from kdgan_tf.grid.records import archive_records
from kdgan_tf.grid.records import reported_runs
from kdgan_tf.grid.records import restore_records
from kdgan_tf.grid.report import PAPER_NS
from kdgan_tf.grid.report import write_figures
from kdgan_tf.grid.report import write_report
from kdgan_tf.grid.report_sync import update_readme_table
from kdgan_tf.grid.report_sync import update_root_report_halves
from kdgan_tf.grid.rows import collect
from kdgan_tf.grid.scheduling import check_same_bindings
from kdgan_tf.grid.scheduling import execute
from kdgan_tf.grid.scheduling import outdated_message
from kdgan_tf.grid.scheduling import outdated_runs
from kdgan_tf.grid.scheduling import record_failures

FLAGS = flags.FLAGS


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


def _refuse_outdated(runs, quick, npz, runs_dir, extra_bindings=None):
  """Prints why and returns True when finished runs of the grid have an older configuration."""
  try:
    outdated = outdated_runs(runs, quick, npz,
                             FLAGS.gin_bindings if extra_bindings is None else extra_bindings)
  except UserError as e:  # a bad --gin_bindings: one sentence
    print(f"kdgan_tf.reproduce: error: {str(e).splitlines()[0]}", file=sys.stderr)
    return True
  if outdated:
    print(f"kdgan_tf.reproduce: error: {outdated_message(outdated, runs_dir)}", file=sys.stderr)
  return bool(outdated)


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
  # `report` trains nothing, but a table of runs from an older recipe must not be rewritten as
  # today's either: the same check as the grid's, with the bindings the grid was run with.
  elif _refuse_outdated(reported_runs(runs_dir, dataset, dataset_name), quick, npz, runs_dir,
                        outputs.read_json(os.path.join(runs_dir, GRID_BINDINGS_FILE),
                                          default=[]) or []):
    return 2
  if argv[1] == "figures":
    seeds = 1 if quick else FLAGS.figure_seeds
    sweep = sensitivity_grid(SENSITIVITY_QUICK if quick else SENSITIVITY, seeds, runs_dir,
                             defaults=kdgan_defaults(FLAGS.gin_bindings))
    runs = in_shard(probe_grid(seeds, runs_dir) + sweep, shard)
    if _refuse_outdated(runs, quick, npz, runs_dir):
      return 2
    failures = execute(runs, quick, npz, FLAGS.gin_bindings, FLAGS.max_runs)
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
    if _refuse_outdated(runs, quick, npz, runs_dir):
      return 2
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
  # The root REPORT.md is MNIST's report plus the other half of Table 1 (CIFAR-10), which the
  # MNIST report rewrote above and CIFAR-10's just changed: both refresh it from the records.
  if default_grid and dataset_name in PAPER_NS and update_root_report_halves(
      os.path.join(REPO, "REPORT.md"), os.path.join(REPO, "results")):
    print(f"{os.path.join(REPO, 'REPORT.md')}: Table 1's other half refreshed from "
          "results/table1_*/records.")
  print(f"{len(rows)} finished runs summarised in {os.path.join(report_dir, 'REPORT.md')}; "
        f"{archived} run records in {os.path.join(results_dir, 'records')}")
  return 1 if failures else 0

if __name__ == "__main__":
  define_flags()
  app.run(main)
