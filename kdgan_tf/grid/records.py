"""The finished runs' records: which run folders below a runs folder hold a finished run, the
Figure 4 points among them, and the committed copy of every record in results/<grid>/records
(`archive_records`) that a fresh clone restores its runs folder from (`restore_records`).

Why apart: REPORT.md, the figures and a resumed grid all start from the same set of finished
runs, and the archive is what makes every number of the report traceable and regenerable.
"""
import os
import re
import shutil
import sys
import tempfile

from kdgan_tf import outputs
from kdgan_tf.grid.definition import DRIVER_FILE
from kdgan_tf.grid.definition import GRID_BINDINGS_FILE
from kdgan_tf.grid.definition import METHOD_FILES
from kdgan_tf.grid.definition import SAME_AS_FILE
from kdgan_tf.grid.definition import SENSITIVITY
from kdgan_tf.grid.definition import TABLE_PROTOCOLS
from kdgan_tf.grid.definition import Run
from kdgan_tf.grid.definition import read_finished_record


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


def reported_runs(runs_dir, dataset, dataset_name):
  """The grid cells (definition.Run) of the finished Table 1 runs below runs_dir, read from the
  folder names (<protocol>/<dataset>_n<n>/<method>_s<seed>), so that `report`, which trains
  nothing, can still check their config.gin against today's gin files
  (scheduling.outdated_runs). Folders a grid would not have named so are left out."""
  runs = []
  for protocol, folder, _ in finished_runs(runs_dir):
    cell, name = os.path.split(folder)
    n, method = re.search(r"_n(\d+)$", cell), re.fullmatch(r"(\w+)_s(\d+)", name)
    if not (n and method and method.group(1) in METHOD_FILES):
      continue
    run = Run(protocol, n.group(1), method.group(1), method.group(2), runs_dir,
              dataset=dataset, dataset_name=dataset_name)
    if os.path.normpath(run.model_dir) == os.path.normpath(folder):
      runs.append(run)
  return runs


def sensitivity_points(runs_dir):
  """[(param, value, record)] of every finished Figure 4 run, read from the folder names
  (`kdgan_<param><value>_s<seed>`), so a partial sweep is reported as far as it got."""
  points = []
  for name, _, record in finished_in(os.path.join(runs_dir, "sensitivity", "mnist_n100")):
    match = re.fullmatch(r"kdgan_(%s)(.+)_s\d+" % "|".join(SENSITIVITY), name)
    if match:
      points.append((match.group(1), float(match.group(2)), record))
  return points


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
