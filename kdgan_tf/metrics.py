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


def summarize_game(history, player_prefix="c"):
  """Honest (validation-selected), last-epoch and authors' (best test) numbers of one player.

  Args:
    history: list of per-epoch dicts with f"{prefix}_val_accuracy" / f"{prefix}_test_accuracy".
  Returns:
    dict with "selected", "last" and "authors_protocol" entries (or {} for no history).
  """
  val_key, test_key = f"{player_prefix}_val_accuracy", f"{player_prefix}_test_accuracy"
  if not history:
    return {}
  chosen = select_epoch(history, val_key)
  rule = "epoch with the highest validation accuracy (earliest on ties)"
  if chosen is None:  # no validation split (validation_size = 0)
    chosen, rule = history[-1], "no validation split: the last epoch"
  best_test = select_epoch(history, test_key) or history[-1]
  last = history[-1]
  return {
      "selected": {"rule": rule, "epoch": chosen["epoch"], "val_accuracy": chosen.get(val_key),
                   "test_accuracy": chosen.get(test_key)},
      "last": {"epoch": last["epoch"], "val_accuracy": last.get(val_key),
               "test_accuracy": last.get(test_key)},
      "authors_protocol": {"rule": "highest TEST accuracy seen during the game (test-set "
                                   "selection, as the authors' code reported; not an honest "
                                   "estimate)",
                           "epoch": best_test["epoch"],
                           "test_accuracy": best_test.get(test_key)},
  }
