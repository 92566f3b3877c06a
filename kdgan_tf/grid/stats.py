"""The statistics of the reports: mean ± sample std over seeds, the number each protocol
reports, Table 1's cells and KDGAN's paired differences.

Why apart: one definition of "mean ± std (seeds)" for every report (Table 1 here, Table 2 in
kdgan_tf.table2_report, the game diagnostics, kdgan_tf.summarize's pairs); a leaf module (it
imports nothing of the project), so any of them can import it without a cycle.
"""
import statistics


def mean_std(values):
  """(mean, sample std, count) of the non-None values, std 0.0 for a single value; None when
  there is none. Sample (n - 1) std: the spread over seeds estimates the seed-to-seed spread."""
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
