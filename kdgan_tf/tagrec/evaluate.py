"""Command line: every tag-recommendation baseline on one dataset, with Table 2's columns.

  python -m kdgan_tf.tagrec.evaluate --gin_file=corel5k.gin --gin_file=tagrec_baselines.gin \
      [--methods=knn,tprop,tfeat,rexmp] [--output_dir=results/tagrec/corel5k]

For each method, every point of its search space (gin: `evaluate_baselines.search_spaces`) is
fitted on the training split and scored on the VALIDATION split; the point with the best
`selection_metric` (earliest point on ties) is then scored on the test split, once. The test
split never influences a choice. Baselines see the inference-time features only (never the
privileged view). Written to `output_dir`: `search.csv` (every point's validation measures and
seconds), `table2.csv` and `table2.json` (the selected point's test measures, hyperparameters,
fit and scoring seconds, hardware, versions and the command).

Table 2's F columns are printed twice: F@N as the harmonic mean of P@N and R@N (the textbook
measure), and F@N_authors with R-precision in place of R@N (what the paper's evaluation code
computed; kdgan_tf/tagrec/metrics.py).
"""
import collections
import datetime
import importlib
import inspect
import itertools
import json
import os
import platform
import sys
import time

import gin
import numpy as np

from kdgan_tf import outputs
from kdgan_tf.errors import UserError
from kdgan_tf.data.views import INFERENCE_VIEW
from kdgan_tf.progress import progress_bar
from kdgan_tf.tagrec import metrics

# method name -> "module:Class"; imported on use, so one broken baseline does not stop the rest.
BASELINES = collections.OrderedDict([
    ("knn", "kdgan_tf.tagrec.knn:NeighbourVoting"),
    ("tprop", "kdgan_tf.tagrec.tagprop:TagProp"),
    ("tfeat", "kdgan_tf.tagrec.tagfeat:TagFeature"),
    ("rexmp", "kdgan_tf.tagrec.relexample:RelExample"),
])
PRINTED_COLUMNS = ("P@3", "P@5", "F@3", "F@5", "F@3_authors", "F@5_authors", "MAP", "MRR")


def baseline_class(name):
  if name not in BASELINES:
    raise UserError(f"unknown baseline {name!r}; choose from {list(BASELINES)}.")
  module, cls = BASELINES[name].split(":")
  return getattr(importlib.import_module(module), cls)


def grid_points(space):
  """The cartesian product of a {param: [values]} search space, as a list of dicts in a fixed
  order (parameters sorted by name, values in the order given). An empty space is one point."""
  space = dict(space or {})
  for key, values in space.items():
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or not list(values):
      raise UserError(f"search space of {key!r} must be a non-empty list, got {values!r}.")
  keys = sorted(space)
  return [dict(zip(keys, combo)) for combo in itertools.product(*(list(space[k]) for k in keys))]


TIE_TOLERANCE = 1e-9  # means of k/N values summed in another order differ in the last bits


def select_best(results, metric):
  """Index of the result with the highest `metric`; the earliest one on ties (values within
  TIE_TOLERANCE of the best count as ties)."""
  if not results:
    raise ValueError("no results to select from.")
  values = [r[metric] for r in results]
  best = max(values)
  return next(i for i, v in enumerate(values) if v >= best - TIE_TOLERANCE)


def check_arguments(name, cls, points):
  """Every searched argument must be a constructor argument of the baseline."""
  accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
  for params in points:
    wrong = sorted(set(params) - accepted)
    if wrong:
      raise UserError(f"search space of {name} names {wrong}, which {cls.__name__} does not "
                      f"take; its arguments are {sorted(accepted)}.")


def fit_and_measure(name, cls, params, train, evaluated):
  """Fits `cls(**params)` on train; returns (model, measures on `evaluated`, seconds)."""
  start = time.perf_counter()
  try:
    model = cls(**params).fit(train.views[INFERENCE_VIEW], train.labels)
  except (ValueError, TypeError) as e:  # e.g. k larger than the training set
    raise UserError(f"{name} with {params}: {str(e).splitlines()[0]}") from e
  fit_s = time.perf_counter() - start
  start = time.perf_counter()
  scores = model.score(evaluated.views[INFERENCE_VIEW])
  score_s = time.perf_counter() - start
  return model, metrics.evaluate(scores, evaluated.labels), fit_s, score_s


@gin.configurable(denylist=["methods", "log"])
def evaluate_baselines(dataset_fn=gin.REQUIRED, search_spaces=None, selection_metric="P@3",
                       methods=None, log=print):
  """Selects each baseline's hyperparameters on validation and measures it on test.

  Args:
    dataset_fn: returns multi-label `data.DataSplits` (e.g. @load_corel5k); the baselines read
      its "image" view only (the inference-time features).
    search_spaces: {method: {param: [values]}}; a method missing here runs with its gin
      defaults only.
    selection_metric: the validation measure that picks the hyperparameters (a key of
      `metrics.evaluate`, e.g. "P@3" -- Table 2's first column -- or "MAP").
    methods: which baselines (default: all of BASELINES).
  Returns:
    (dataset summary dict, search rows, test rows).
  """
  known = list(metrics.evaluate(np.ones((1, 5)), np.ones((1, 5))))
  if selection_metric not in known:
    raise UserError(f"evaluate_baselines.selection_metric = {selection_metric!r} is not a "
                    f"measure; choose one of {known}.")
  splits = dataset_fn()
  search_spaces = dict(search_spaces or {})
  methods = list(methods or BASELINES)
  unknown = sorted(set(search_spaces) - set(BASELINES))
  if unknown:
    raise UserError(f"search_spaces names unknown baselines {unknown}; known: {list(BASELINES)}.")
  dataset = {"name": splits.name, "num_tags": splits.num_classes,
             "feature_dim": int(splits.train.views[INFERENCE_VIEW].shape[1]),
             "privileged": [v for v in splits.view_names if v != INFERENCE_VIEW],
             "sizes": {s: len(splits.split(s)) for s in ("train", "val", "test")}}
  log(f"{splits.name}: {dataset['sizes']} examples, {splits.num_classes} tags, "
      f"{dataset['feature_dim']}-D inference features; selecting on validation {selection_metric}")
  search_rows, test_rows = [], []
  spaces = {}
  for name in methods:  # every mistake in the settings is reported before hours of fitting
    spaces[name] = grid_points(search_spaces.get(name))
    check_arguments(name, baseline_class(name), spaces[name])
  for name in methods:
    cls, points = baseline_class(name), spaces[name]
    results, best_model, fit_best = [], None, 0.0
    started = time.perf_counter()
    for params in progress_bar(points, desc=f"{name} search", unit="point"):
      model, val, fit_s, score_s = fit_and_measure(name, cls, params, splits.train, splits.val)
      results.append(val)
      if select_best(results, selection_metric) == len(results) - 1:
        best_model, fit_best = model, fit_s  # the validated model itself is tested
      search_rows.append(dict(method=name, params=json.dumps(params, sort_keys=True),
                              fit_seconds=fit_s, score_seconds=score_s,
                              **{f"val_{k}": v for k, v in val.items()}))
      log(f"  {name} {params}: validation {selection_metric} {val[selection_metric]:.4f} "
          f"({fit_s:.1f} s fit)")
    search_s = time.perf_counter() - started
    best = select_best(results, selection_metric)
    start = time.perf_counter()
    test = metrics.evaluate(best_model.score(splits.test.views[INFERENCE_VIEW]),
                            splits.test.labels)
    score_s = time.perf_counter() - start
    test_rows.append(dict(method=name, params=json.dumps(points[best], sort_keys=True),
                          selected_on=f"validation {selection_metric}",
                          val_selection_value=results[best][selection_metric],
                          search_points=len(points), search_seconds=search_s,
                          fit_seconds=fit_best, score_seconds=score_s, **test))
    log(f"{name}: selected {points[best]}; test " + " ".join(
        f"{c}={test[c]:.4f}" for c in PRINTED_COLUMNS))
  return dataset, search_rows, test_rows


def markdown_table(dataset, test_rows):
  head = ["method", "hyperparameters (validation)", *PRINTED_COLUMNS, "fit + test scoring s",
          "whole search s"]
  lines = [f"Test split of {dataset['name']} ({dataset['sizes']['test']} images, "
           f"{dataset['num_tags']} tags). F@N = harmonic mean of P@N and R@N; F@N_authors uses "
           "R-precision instead (the paper's evaluation code).", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for row in test_rows:
    cells = [row["method"], row["params"]] + [f"{row[c]:.4f}" for c in PRINTED_COLUMNS]
    seconds = row["fit_seconds"] + row["score_seconds"]
    lines.append("| " + " | ".join(cells + [f"{seconds:.1f}", f"{row['search_seconds']:.0f}"])
                 + " |")
  return "\n".join(lines)


def write_outputs(output_dir, dataset, search_rows, test_rows, command):
  os.makedirs(output_dir, exist_ok=True)
  for name, rows in (("search.csv", search_rows), ("table2.csv", test_rows)):
    if rows:
      outputs.write_csv(os.path.join(output_dir, name), rows)
  outputs.write_json(os.path.join(output_dir, "table2.json"), {
      "dataset": dataset, "results": test_rows, "command": command,
      "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
      "host": {"machine": platform.machine(), "processor": platform.processor(),
               "cpus": os.cpu_count(), "python": platform.python_version(),
               "numpy": np.__version__}})


def _parse(gin_files, gin_bindings):
  # Register the configurables the gin files may name before parsing.
  from kdgan_tf.data import corel5k, npz_dataset  # noqa: F401  pylint: disable=g-import-not-at-top
  for name in BASELINES:
    baseline_class(name)
  try:
    from kdgan_tf.data import yfcc100m  # noqa: F401  pylint: disable=g-import-not-at-top
  except ImportError:  # tensorflow-datasets problems must not stop the offline datasets
    pass
  from kdgan_tf.config import parse_config  # pylint: disable=g-import-not-at-top
  parse_config(gin_files, gin_bindings)


def main(argv):
  from absl import flags  # pylint: disable=g-import-not-at-top
  del argv
  flag_values = flags.FLAGS
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.experimental.enable_op_determinism()  # TagProp's segment sums, also on GPU
  try:
    _parse(flag_values.gin_file, flag_values.gin_bindings)
    methods = flag_values.methods or None
    for name in methods or []:
      baseline_class(name)
    dataset, search_rows, test_rows = evaluate_baselines(methods=methods)
  except UserError as e:
    print(f"kdgan_tf.tagrec.evaluate: error: {str(e).splitlines()[0]}", file=sys.stderr)
    sys.exit(2)
  output_dir = flag_values.output_dir or os.path.join("results", "tagrec", dataset["name"])
  command = "python -m kdgan_tf.tagrec.evaluate " + " ".join(sys.argv[1:])
  write_outputs(output_dir, dataset, search_rows, test_rows, command)
  print(markdown_table(dataset, test_rows))
  print(f"written: {output_dir}/table2.csv, table2.json, search.csv")


def define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_multi_string("gin_file", [], "Gin files (bare names: gin_configs/), e.g. "
                            "corel5k.gin and tagrec_baselines.gin.")
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings, e.g. "
                            "\"load_corel5k.path = '/data/corel5k_mulan.npz'\".")
  flags.DEFINE_list("methods", None, f"Baselines to run (default: all of {list(BASELINES)}).")
  flags.DEFINE_string("output_dir", None, "Where the CSV/JSON go (default: "
                      "results/tagrec/<dataset name>).")


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  define_flags()
  app.run(main)
