"""Pure summaries of a run's per-epoch history (shared by the loop and the reports)."""


def select_epoch(history, key):
  """The record with the highest `key`, earliest on ties; None for an empty history."""
  best = None
  for record in history:
    value = record.get(key)
    if value is None:
      continue
    if best is None or value > best[key]:
      best = record
  return best


def summarize_game(history, player_prefix="c", selection_metric="accuracy",
                   metric_names=("accuracy",)):
  """Honest (validation-selected), last-epoch and authors' (best test) numbers of one player.

  Args:
    history: list of per-epoch dicts with f"{prefix}_{split}_{metric}" entries, e.g.
      "c_val_accuracy" or "c_test_P@3".
    selection_metric: the measure whose validation value selects the epoch (and whose best test
      value is the authors' number).
    metric_names: every measure to report at the chosen epochs.
  Returns:
    dict with "selected", "last" and "authors_protocol" entries (or {} for no history); each
    holds f"val_{metric}" / f"test_{metric}" for every metric.
  """
  val_key = f"{player_prefix}_val_{selection_metric}"
  test_key = f"{player_prefix}_test_{selection_metric}"
  if not history:
    return {}
  chosen = select_epoch(history, val_key)
  rule = f"epoch with the highest validation {selection_metric} (earliest on ties)"
  if chosen is None:  # no validation split (validation_size = 0)
    chosen, rule = history[-1], "no validation split: the last epoch"
  best_test = select_epoch(history, test_key) or history[-1]
  last = history[-1]

  def measures(record, splits=("val", "test")):
    return {f"{split}_{m}": record.get(f"{player_prefix}_{split}_{m}")
            for m in metric_names for split in splits}

  authors = {f"test_{m}": best_test.get(f"{player_prefix}_test_{m}") for m in metric_names}
  return {
      "selected": {"rule": rule, "epoch": chosen["epoch"], **measures(chosen)},
      "last": {"epoch": last["epoch"], **measures(last)},
      "authors_protocol": {"rule": f"highest TEST {selection_metric} seen during the game "
                                   "(test-set selection, as the authors' code reported; not an "
                                   "honest estimate)",
                           "epoch": best_test["epoch"], **authors},
  }
