"""Training a grid's unfinished runs: one in-process run at a time, each under its claim
(kdgan_tf.claims) so workers sharing a grid never train the same run; driver.json says how a
run was trained (wall-clock, CPU sharing), failures.json which runs failed, and
grid_bindings.json fixes a grid's extra bindings at its first call.

Why apart: this is the only part of the driver that trains anything or waits for other
workers; kdgan_tf.table2 schedules its own grid with it too.
"""
import collections
import os
import platform
import re
import time
import traceback

import kdgan_tf  # noqa: F401  (sets the Keras backend first)
import gin

from kdgan_tf import claims
from kdgan_tf import outputs
from kdgan_tf.errors import UserError
from kdgan_tf.grid.definition import DRIVER_FILE
from kdgan_tf.grid.definition import GRID_BINDINGS_FILE
from kdgan_tf.grid.definition import read_finished_record


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


# Bindings that say where data lives or how a run is stored, not what it computes: a clone
# elsewhere has other paths, and the grid began binding keep_checkpoints after its first runs.
NOT_COMPUTED_BINDINGS = ("load_image_classification.original_order_npz",
                         "run_experiment.pretrain_cache_dir", "run_experiment.keep_checkpoints",
                         "run_experiment.checkpoint_every_secs")


def run_config(gin_files, bindings):
  """The config.gin that a run of these gin files and bindings writes (experiment.py)."""
  from kdgan_tf.config import parse_config  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  try:
    parse_config(gin_files, bindings)
    return gin.config_str()
  finally:
    gin.clear_config()


def _comparable(config):
  """The config's lines, a binding gin wrapped over two lines joined, without the bindings
  that do not change what a run computes."""
  joined = re.sub(r"\\\n\s*", "", config)
  return [line for line in joined.splitlines() if not line.startswith(NOT_COMPUTED_BINDINGS)]


def outdated_runs(runs, quick, npz, extra_bindings):
  """Finished runs whose config.gin is not what their gin files and bindings give now.

  Why: a finished run is skipped and reported, so after a gin file changes (a new recipe) the
  grid would otherwise present runs of the old recipe as runs of the new one, and mix both in
  one table. Changed code defaults are not seen, and a binding a method does not use (e.g. a
  teacher setting in SUPERVISED-C) counts. Returns their model_dirs."""
  outdated = []
  for run in runs:
    target = run.same_as or run
    path = os.path.join(target.model_dir, "config.gin")
    if target.model_dir in outdated or not os.path.exists(path) or not target.finished():
      continue
    with open(path) as f:
      before = f.read()
    now = run_config(target.gin_files(quick), target.bindings(npz, extra_bindings))
    if _comparable(before) != _comparable(now):
      outdated.append(target.model_dir)
  return outdated


def outdated_message(outdated, runs_dir, shown=5):
  """One sentence on what to do with runs of an older configuration, and which they are."""
  names = [os.path.relpath(d, runs_dir) for d in outdated]
  more = f" and {len(names) - shown} more" if len(names) > shown else ""
  return (f"{len(names)} finished run(s) below {runs_dir} were trained with another "
          "configuration than the gin files give now (compare a run's config.gin): move them "
          "(and their copies in results/<grid>/records) out of the grid to train them again "
          "under the current files, or check out the commit they were trained at: "
          f"{', '.join(names[:shown])}{more}.")


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
