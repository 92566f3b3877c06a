"""Table 2 on real tag data, offline: every method of the trainer and the tag baselines, over seeds.

    python -m kdgan_tf.table2 [--quick] [--seeds=10] [--methods=kdgan,distn,...]
        [--baselines=knn,tprop,tfeat,rexmp] [--dataset_gin=corel5k.gin] [--report_only]
    bash run.sh table2-corel5k [same flags]

The grid is seed-major (every method of seed 0, then of seed 1, ...), one model_dir per
(method, seed) under --runs_dir; a finished run is skipped, an interrupted one resumes (the
Table 1 driver's `execute`: claims, failures.json, driver.json with wall-clock and load). All
runs of a seed share the pretraining cache, so C, T and D are pretrained once per seed. Every
method gets the same recipe (gin_configs/tagrec.gin, not tuned), the same seeds and the same
selection rule: the epoch of the best validation P@3.

Baselines (kdgan_tf/tagrec/): their hyperparameters are searched once on the validation split
(`tagrec_baselines.gin`, the same search as `python -m kdgan_tf.tagrec.evaluate`); the selected
point is then refitted with each seed where the baseline draws random numbers (TFEAT, REXMP:
negative bagging); KNN and TPROP draw none, so they are fitted once and marked deterministic.
They read the inference-time view only, like the classifier. Finished baseline results are
kept in --runs_dir/baselines/ and are not recomputed.

Outputs in --results_dir: REPORT.md (generated; kdgan_tf/table2_report.py), table2.csv,
records/ (every finished run's metrics.json, config.gin and driver.json, and every baseline
result), fig3b_p3_per_epoch.png/.csv.
"""
import inspect
import json
import os
import shlex
import shutil
import sys
import time

from absl import app
from absl import flags

import kdgan_tf  # noqa: F401  (sets the Keras backend first)
import gin

from kdgan_tf import claims
from kdgan_tf import outputs
from kdgan_tf.grid import definition
from kdgan_tf.grid import scheduling
from kdgan_tf.errors import UserError

FLAGS = flags.FLAGS
REPO = definition.REPO
METHODS = ("kdgan", "supervised_c", "supervised_t", "mimic", "distn", "noisy", "codis",
           "nagan", "kdgan_wo_gm")
BASELINES = ("knn", "tprop", "tfeat", "rexmp")
RECORD_FILES = ("metrics.json", "config.gin", definition.DRIVER_FILE)


class Table2Run:
  """One (method, seed) cell, or a Figure 5 point (`sweep` = (param, value)); the interface
  `kdgan_tf.grid.scheduling.execute` trains."""

  protocol, n, variant, same_as = "table2", 0, "", None

  def __init__(self, method, seed, runs_dir, dataset_gin, sweep=None):
    self.method, self.seed, self.runs_dir = method, int(seed), runs_dir
    self.dataset_gin, self.sweep = dataset_gin, sweep
    self.extra_bindings = [f"KDGAN.{sweep[0]} = {sweep[1]!r}"] if sweep else []
    name = f"{method}_sweep_{sweep[0]}_{sweep[1]!r}_s{self.seed}" if sweep else (
        f"{method}_s{self.seed}")
    self.model_dir = os.path.join(runs_dir, name)
    point = f" {sweep[0]} = {sweep[1]!r}" if sweep else ""
    self.label = (f"{os.path.splitext(os.path.basename(dataset_gin))[0]} {method}{point} "
                  f"seed {seed}")

  def gin_files(self, quick=False):
    return [self.dataset_gin, f"{self.method}.gin"] + (["quick.gin"] if quick else [])

  def bindings(self, unused_npz, extra):
    # Outputs (weights/, saved_model/, metrics.json) do not need the resumable checkpoint.
    return ([f"run_experiment.seed = {self.seed}", "run_experiment.keep_checkpoints = False"]
            + self.extra_bindings + list(extra))

  def finished(self):
    return definition.read_finished_record(self.model_dir) is not None


def grid(methods, seeds, runs_dir, dataset_gin):
  return [Table2Run(m, s, runs_dir, dataset_gin) for s in range(seeds) for m in methods]


# Figure 5: each of alpha, beta, gamma over the paper's search ranges (section 4: alpha in
# [0, 1], beta in [0.001, 1000], gamma in [0.0001, 100]), the others at tagrec.gin's values;
# the point at tagrec.gin's own value is the grid's KDGAN run of that seed.
SWEEP = {"alpha": (0.1, 0.3, 0.7, 0.9), "beta": (0.01, 0.1, 1.0, 10.0, 100.0),
         "gamma": (0.0001, 0.001, 0.1, 1.0, 10.0)}
SWEEP_QUICK = {"alpha": (0.1,), "beta": (10.0,), "gamma": (1.0,)}


def sweep_grid(seeds, runs_dir, dataset_gin, quick=False):
  points = SWEEP_QUICK if quick else SWEEP
  return [Table2Run("kdgan", s, runs_dir, dataset_gin, sweep=(p, v)) for s in range(seeds)
          for p, values in points.items() for v in values]


# ----------------------------------------------------------------------------------- baselines
def _has_seed(cls):
  return "seed" in inspect.signature(cls.__init__).parameters


def _draws_random_numbers(name):
  return name in ("tfeat", "rexmp")


def baseline_path(runs_dir, name, seed):
  return os.path.join(runs_dir, "baselines", f"{name}_s{seed}.json")


def run_baselines(names, seeds, runs_dir, dataset_gin, quick, extra_bindings=(), log=print):
  """Search (seed 0) and per-seed refits of each baseline; resumable, one JSON per result."""
  from kdgan_tf.tagrec import evaluate  # pylint: disable=g-import-not-at-top
  todo = [(n, s) for n in names for s in (range(seeds) if _draws_random_numbers(n) else [0])
          if not os.path.exists(baseline_path(runs_dir, n, s))]
  if not todo:
    return
  os.makedirs(os.path.join(runs_dir, "baselines"), exist_ok=True)
  gin.clear_config()
  try:
    parse = evaluate._parse  # pylint: disable=protected-access  (registers the baselines)
    parse([dataset_gin, "tagrec_baselines.gin"], list(extra_bindings))
    splits = gin.query_parameter("evaluate_baselines.dataset_fn").scoped_configurable_fn()
    spaces = dict(gin.query_parameter("evaluate_baselines.search_spaces") or {})
    if quick:  # the machinery only: the first point of each search space
      spaces = {k: {p: list(v)[:1] for p, v in space.items()} for k, space in spaces.items()}
    with gin.unlock_config():
      gin.bind_parameter("evaluate_baselines.search_spaces", spaces)
    for name in names:
      # One worker per baseline (kdgan_tf/claims.py): workers sharing a grid never search twice.
      folder = os.path.join(runs_dir, "baselines", f"{name}.claim")
      os.makedirs(folder, exist_ok=True)
      with claims.Claim(folder, runs_dir) as claim:
        if not claim.held:
          log(f"{name}: held by another worker; skipped here.")
          continue
        _run_baseline(evaluate, name, splits, seeds, runs_dir, log)
  finally:
    gin.clear_config()


def _run_baseline(evaluate, name, splits, seeds, runs_dir, log):
  """The seed-0 search (or its saved result) and the per-seed refits of one baseline."""
  if os.path.exists(baseline_path(runs_dir, name, 0)):
    selected = outputs.read_json(baseline_path(runs_dir, name, 0))
  else:
    started = time.time()
    _, _, rows = evaluate.evaluate_baselines(dataset_fn=lambda: splits, methods=[name],
                                             log=lambda message: None)
    selected = dict(rows[0], seed=0, wall_seconds=time.time() - started,
                    deterministic=not _draws_random_numbers(name))
    outputs.write_json(baseline_path(runs_dir, name, 0), selected)
    log(f"{name}: searched on validation, selected {selected['params']} "
        f"({selected['wall_seconds']:.0f} s)")
  for seed in range(1, seeds) if _draws_random_numbers(name) else []:
    path = baseline_path(runs_dir, name, seed)
    if os.path.exists(path):
      continue
    cls = evaluate.baseline_class(name)
    params = dict(json.loads(selected["params"]), **({"seed": seed} if _has_seed(cls) else {}))
    started = time.time()
    _, test, fit_s, score_s = evaluate.fit_and_measure(name, cls, params, splits.train,
                                                       splits.test)
    outputs.write_json(path, dict(method=name, params=json.dumps(params, sort_keys=True),
                                  seed=seed, fit_seconds=fit_s, score_seconds=score_s,
                                  wall_seconds=time.time() - started, deterministic=False,
                                  **test))
    log(f"{name} seed {seed}: refitted ({time.time() - started:.0f} s)")


# ------------------------------------------------------------------------------------- records
def archive(runs_dir, results_dir):
  """Copies every finished run's record files and every baseline result into results_dir."""
  records = os.path.join(results_dir, "records")
  if not os.path.isdir(runs_dir):
    return
  for name in sorted(os.listdir(runs_dir)):
    folder = os.path.join(runs_dir, name)
    if name == "baselines":
      target = os.path.join(records, "baselines")
      os.makedirs(target, exist_ok=True)
      for f in os.listdir(folder):  # finished results only: no claims, no temporary files
        if f.endswith(".json") and os.path.isfile(os.path.join(folder, f)):
          shutil.copy2(os.path.join(folder, f), os.path.join(target, f))
    elif definition.read_finished_record(folder) is not None:
      os.makedirs(os.path.join(records, name), exist_ok=True)
      for f in RECORD_FILES:
        if os.path.exists(os.path.join(folder, f)):
          shutil.copy2(os.path.join(folder, f), os.path.join(records, name, f))


def restore_records(results_dir, runs_dir):
  """The inverse of `archive` for a checkout without runs/ (a fresh clone, a new session):
  every archived finished run and baseline result is put back, so the grid does not train it
  again. Returns how many were restored; folders that exist are never touched."""
  records = os.path.join(results_dir, "records")
  restored = 0
  for name in sorted(os.listdir(records)) if os.path.isdir(records) else []:
    source, target = os.path.join(records, name), os.path.join(runs_dir, name)
    if name == "baselines":
      os.makedirs(target, exist_ok=True)
      for f in sorted(os.listdir(source)):
        if f.endswith(".json") and not os.path.exists(os.path.join(target, f)):
          shutil.copy2(os.path.join(source, f), os.path.join(target, f))
          restored += 1
    elif (definition.read_finished_record(source) is not None
          and not os.path.exists(target)):
      os.makedirs(target)
      for f in RECORD_FILES:
        if os.path.exists(os.path.join(source, f)):
          shutil.copy2(os.path.join(source, f), os.path.join(target, f))
      restored += 1
  return restored


def load_records(results_dir):
  """({(method, seed): metrics record}, {(baseline, seed): result}, {(method, seed): driver},
  {(param, value, seed): Figure 5 record})."""
  records = os.path.join(results_dir, "records")
  runs, baselines, drivers, sweeps = {}, {}, {}, {}
  if not os.path.isdir(records):
    return runs, baselines, drivers, sweeps
  for name in sorted(os.listdir(records)):
    folder = os.path.join(records, name)
    if name == "baselines":
      for f in sorted(f for f in os.listdir(folder) if f.endswith(".json")):
        result = outputs.read_json(os.path.join(folder, f))
        baselines[(result["method"], int(result["seed"]))] = result
      continue
    record = outputs.read_json(os.path.join(folder, "metrics.json"), default=None)
    if record and record.get("finished") and "_sweep_" in name:
      param, value = name.split("_sweep_", 1)[1].rsplit("_s", 1)[0].rsplit("_", 1)
      sweeps[(param, float(value), int(record["seed"]))] = record
    elif record and record.get("finished"):
      key = (record["method"], int(record["seed"]))
      runs[key] = record
      drivers[key] = outputs.read_json(os.path.join(folder, definition.DRIVER_FILE), default=None)
  return runs, baselines, drivers, sweeps


# ----------------------------------------------------------------------------------------- CLI
def define_flags():
  flags.DEFINE_boolean("quick", False, "Tiny players and a few epochs (quick.gin) and one point "
                       "per baseline search: checks the machinery; numbers mean nothing.")
  flags.DEFINE_integer("seeds", 10, "Seeds 0 .. seeds-1 of every method (with --quick and not "
                       "given: 1).")
  flags.DEFINE_list("methods", list(METHODS), "Trainer methods (gin_configs/<method>.gin).")
  flags.DEFINE_list("baselines", list(BASELINES), "Tag baselines (kdgan_tf/tagrec/).")
  flags.DEFINE_string("dataset_gin", "corel5k.gin", "The dataset's gin file (tagrec recipe).")
  flags.DEFINE_string("runs_dir", None, "Run folders (default runs/table2_<dataset>, with "
                      "--quick runs/table2_<dataset>_quick: never mixed with real runs).")
  flags.DEFINE_string("results_dir", None, "Report, CSV, records (default "
                      "results/table2_<dataset>; with --quick, <runs_dir>/results).")
  flags.DEFINE_multi_string("gin_bindings", [], "Added to every run and to the baselines' data.")
  flags.DEFINE_integer("max_runs", 0, "Stop after this many trainings (0: no limit).")
  flags.DEFINE_integer("figure5_seeds", 0, "Seeds of the Figure 5 sweep of alpha, beta, gamma "
                       "(KDGAN runs; 0: no sweep). Trained after the grid.")
  flags.DEFINE_boolean("report_only", False, "Train nothing: regenerate the report from "
                       "results_dir/records.")
  flags.DEFINE_string("mnist_diagnosis_dir", os.path.join(REPO, "results", "d_diagnosis"),
                      "KDGAN MNIST records whose per-epoch D loss, w and floor go beside "
                      "Corel5k's in the report (`python benchmarks/replay_records.py "
                      "--methods=kdgan --archive_to=results/d_diagnosis` writes them).")


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    from absl import logging  # pylint: disable=g-import-not-at-top
    logging.set_verbosity(logging.WARNING)  # keep library INFO chatter out of the progress
  from kdgan_tf import table2_report  # pylint: disable=g-import-not-at-top
  dataset = os.path.splitext(os.path.basename(FLAGS.dataset_gin))[0]
  runs_dir = FLAGS.runs_dir or os.path.join(
      REPO, "runs", f"table2_{dataset}" + ("_quick" if FLAGS.quick else ""))
  seeds = FLAGS.seeds if FLAGS["seeds"].present or not FLAGS.quick else 1
  results_dir = FLAGS.results_dir or (os.path.join(runs_dir, "results") if FLAGS.quick else
                                      os.path.join(REPO, "results", f"table2_{dataset}"))
  command = "python -m kdgan_tf.table2 " + " ".join(shlex.quote(a) for a in sys.argv[1:])
  try:
    unknown = sorted(set(FLAGS.methods) - set(METHODS)) + sorted(
        set(FLAGS.baselines) - set(BASELINES))
    if unknown:
      raise UserError(f"unknown methods or baselines {unknown}; choose from {list(METHODS)} "
                      f"and {list(BASELINES)}.")
    if not FLAGS.report_only:
      # Quick runs are toys: a folder of them must never be continued as a real grid.
      error = scheduling.check_same_bindings(
          runs_dir, FLAGS.gin_bindings + (["--quick"] if FLAGS.quick else []))
      if error:
        raise UserError(error)
      restored = restore_records(results_dir, runs_dir)
      if restored:
        print(f"restored {restored} finished runs and baseline results from "
              f"{results_dir}/records into {runs_dir}", flush=True)
      runs = grid(FLAGS.methods, seeds, runs_dir, FLAGS.dataset_gin) + sweep_grid(
          FLAGS.figure5_seeds, runs_dir, FLAGS.dataset_gin, FLAGS.quick)
      failures = scheduling.execute(runs, FLAGS.quick, None, FLAGS.gin_bindings,
                                    max_runs=FLAGS.max_runs)
      scheduling.record_failures(runs_dir, failures)
      run_baselines(FLAGS.baselines, seeds, runs_dir, FLAGS.dataset_gin, FLAGS.quick,
                    FLAGS.gin_bindings)
      archive(runs_dir, results_dir)
    runs, baselines, drivers, sweeps = load_records(results_dir)
    if not runs and not baselines:
      raise UserError(f"no finished runs in {results_dir}/records: train some first.")
    text = table2_report.write(results_dir, dataset, runs, baselines, drivers, command,
                               FLAGS.quick, FLAGS.mnist_diagnosis_dir, sweeps)
  except UserError as e:
    print(f"kdgan_tf.table2: error: {str(e).splitlines()[0]}", file=sys.stderr)
    sys.exit(2)
  print(text.split("\n## ", 2)[1] if "\n## " in text else text)
  print(f"written: {results_dir}/REPORT.md, table2.csv, fig3b_p3_per_epoch.png/.csv")


if __name__ == "__main__":
  define_flags()
  app.run(main)
