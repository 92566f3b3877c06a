"""One finished run's record (metrics.json, and its driver.json) -> its row of runs.csv: both
selection rules whatever the protocol, the teacher, when the game collapsed the player, the
cost and how the machine was shared.

Why apart: every table of REPORT.md is computed from these rows only, never from the records,
so what a run contributes is decided here once.
"""
import os

from kdgan_tf import game_diagnostics
from kdgan_tf import outputs
from kdgan_tf import summarize
from kdgan_tf.grid.definition import DRIVER_FILE
from kdgan_tf.grid.records import finished_runs


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
      "wall_seconds": driver.get("wall_seconds"),  # the whole run, as the grid driver timed it
      "train_size": record.get("train_size", record.get("n")),
      "augment": record.get("augment"), "tensorflow": record.get("tensorflow"),
      "other_runs_in_progress": driver.get("other_runs_in_progress"),
      "max_load_average_1min": driver.get("max_load_average_1min"),
      **game_diagnostics.diagnostic_fields(record),
  }


def collect(runs_dir):
  """Rows of every finished run below runs_dir (see `records.finished_runs`)."""
  return [run_row(protocol, record, outputs.read_json(os.path.join(folder, DRIVER_FILE)))
          for protocol, folder, record in finished_runs(runs_dir)]
