"""Appendix D of the paper: what distillation buys at deployment, the classifier C beside the
teacher T it learnt from (parameters, .tflite size float32 and int8, latency, accuracy).

Why both through one machinery: C and T are rebuilt from the run's own config.gin, given their
weights, and exported with `export_classifier` + `quantize.convert`, so the two rows differ only
in the model. T is T after pretraining (`weights/pretrained_teacher.weights.h5`, the teacher C
distils from; no run keeps T's game weights outside its checkpoints). A T that reads privileged
views (several views, or token ids) cannot take the single raw-input signature: its row keeps
parameters and Keras accuracy, and says why it has no .tflite.
"""
import datetime
import glob
import json
import os
import platform

import tensorflow as tf

from kdgan_tf.data.splits import is_token_view
from kdgan_tf.errors import UserError
from kdgan_tf.export import quantize, tflite
from kdgan_tf.export.run_dir import SAVED_MODEL

WEIGHTS = {"classifier": "best_classifier.weights.h5", "teacher": "pretrained_teacher.weights.h5"}
ROLE = {"classifier": "C (deployed)", "teacher": "T (teacher)"}


def _skip(player, reason, **known):
  return {"player": player, "role": ROLE[player], "tflite_skipped": reason, **known}


def _tflite_reason(run, player):
  """None when the player can be exported with the single-input signature, else why not."""
  views = run.views[player]
  if len(views) != 1:
    return (f"{player} reads views {list(views)}: several inputs (privileged ones included) do "
            "not fit the single-input serving signature, and only C is deployed")
  if is_token_view(run.splits.train.views[views[0]]):
    return f"{player} reads token ids ({views[0]!r}); the float input signature cannot take them"
  return None


def player_row(run, player, out_dir, saved_model_dir=None, num_threads=1, latency_runs=200,
               representative_size=500, measured=None):
  """One row for `player`: its Keras model rebuilt and evaluated, then (when it can be) its
  float32 and int8 .tflite written into `out_dir` and measured. `saved_model_dir`: reuse this
  SavedModel instead of exporting one (C's, written by training); `measured`: the variant rows
  `quantize.export_variants` already gave for that SavedModel (not converted again)."""
  if player not in run.views:
    return _skip(player, f"the {run.record.get('method', 'run')} method has no {player}")
  weights = os.path.join(run.model_dir, "weights", WEIGHTS[player])
  if not os.path.exists(weights):
    return _skip(player, f"{weights} does not exist")
  model = run.build(player, weights)
  test = run.inputs("test", player)
  labels = run.splits.test.labels
  metric = run.metric
  keras_probs = tf.nn.softmax(model.predict(test, batch_size=1000, verbose=0), -1).numpy()
  row = {"player": player, "role": ROLE[player], "weights": os.path.relpath(weights, run.model_dir),
         "views": list(run.views[player]), "parameters": int(model.count_params()),
         f"keras_{metric}": float(run.task.evaluate(keras_probs, labels)[metric])}
  reason = _tflite_reason(run, player)
  if reason:
    row["tflite_skipped"] = reason
    return row
  done = {v["variant"]: v for v in measured or ()}
  if not {"none", "int8"} <= set(done):
    if saved_model_dir is None:
      saved_model_dir = tflite.export_classifier(
          model, os.path.join(out_dir, f"{player}_saved_model"))
    done = {v["variant"]: v for v in quantize.export_variants(
        saved_model_dir, out_dir, ("none", "int8"), run.inputs("train", player), test, labels,
        run.task, prefix=player, num_threads=num_threads, latency_runs=latency_runs,
        representative_size=representative_size,
        seed=int(run.settings.get("seed", 0)))["variants"]}
  for v in (done["none"], done["int8"]):
    key = quantize.SUFFIX[v["variant"]]
    row.update({f"{key}_file": v["file"], f"{key}_bytes": v["bytes"],
                f"{key}_latency_ms": v["latency_ms_batch1"], f"{key}_{metric}": v[metric],
                f"{key}_agreement": v["agreement"]})
  return row


def add_ratios(rows):
  """Compression relative to T: T's parameters / the row's, and T's float32 bytes / the row's
  int8 bytes (what deploying C in int8 saves against deploying T as it is)."""
  teacher = next((r for r in rows if r["player"] == "teacher" and "parameters" in r), None)
  for r in rows:
    if teacher is None or "parameters" not in r:
      continue
    r["parameter_ratio_vs_teacher"] = teacher["parameters"] / r["parameters"]
    if "float32_bytes" in teacher and "int8_bytes" in r:
      r["size_ratio_teacher_float32_vs_int8"] = teacher["float32_bytes"] / r["int8_bytes"]
  return rows


def build(run, out_dir=None, num_threads=1, latency_runs=200, representative_size=500,
          classifier_variants=None):
  """Rows for C and T of `run` (a run_dir.Run); files go into `out_dir` (default model_dir).
  `classifier_variants`: rows of an export report of C made just before (reused)."""
  out_dir = out_dir or run.model_dir
  saved = os.path.join(run.model_dir, SAVED_MODEL)
  if not os.path.exists(os.path.join(run.model_dir, "weights", WEIGHTS["classifier"])):
    raise UserError(f"{run.model_dir} has no weights/{WEIGHTS['classifier']}: the table needs "
                    "the run's validation-selected classifier; finish the run with a "
                    "validation split.")
  rows = [player_row(run, "classifier", out_dir, saved, num_threads, latency_runs,
                     representative_size, classifier_variants),
          player_row(run, "teacher", out_dir, None, num_threads, latency_runs,
                     representative_size)]
  return add_ratios(rows)


def _fmt(value, spec):
  return "–" if value is None else format(value, spec)


def markdown(rows, metric, num_threads=1, dataset=None):
  """The table as Markdown lines (for REPORT.md and compression_table.md)."""
  lines = [f"| model | parameters | float32 .tflite (MB) | int8 .tflite (MB) | float32 ms | "
           f"int8 ms | Keras {metric} | int8 {metric} | T params / params | "
           f"T float32 / int8 size |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
  for r in rows:
    mb = lambda key: None if r.get(key) is None else r[key] / quantize.MB
    lines.append(
        f"| {r['role']} | {_fmt(r.get('parameters'), ',d')} | {_fmt(mb('float32_bytes'), '.3f')}"
        f" | {_fmt(mb('int8_bytes'), '.3f')} | {_fmt(r.get('float32_latency_ms'), '.3f')} | "
        f"{_fmt(r.get('int8_latency_ms'), '.3f')} | {_fmt(r.get(f'keras_{metric}'), '.4f')} | "
        f"{_fmt(r.get(f'int8_{metric}'), '.4f')} | "
        f"{_fmt(r.get('parameter_ratio_vs_teacher'), '.2f')} | "
        f"{_fmt(r.get('size_ratio_teacher_float32_vs_int8'), '.2f')} |")
  lines.append("")
  lines.append(f"Latency: median LiteRT `invoke()` at batch 1 over the timed runs, "
               f"{num_threads} thread(s). {metric} on the test set"
               f"{' of ' + dataset if dataset else ''}. MB = 10^6 bytes. T = T after "
               "pretraining; int8 = full-integer, calibrated on training images.")
  lines += [f"{r['role']}: no .tflite ({r['tflite_skipped']})." for r in rows
            if r.get("tflite_skipped")]
  return lines


def provenance(run):
  """What a reader needs to trust the numbers: which run, which machine, how loaded, when."""
  record = run.record
  return {"dataset": record.get("dataset"), "n": record.get("n"), "seed": record.get("seed"),
          "method": record.get("method"), "model_dir": os.path.abspath(run.model_dir),
          "machine": f"{platform.platform()}, {os.cpu_count()} CPU cores",
          "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
          "tensorflow": tf.__version__,
          "utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")}


def report_lines(results_dir, dataset):
  """REPORT.md's Appendix D section from every `<results_dir>/<dataset>_n<n>/compression_table
  .json` (copied there from a run folder after `python -m kdgan_tf.export --compression_table`);
  [] when there is none."""
  lines = []
  for path in sorted(glob.glob(os.path.join(results_dir, f"{dataset}_n*",
                                            "compression_table.json"))):
    table = json.load(open(path))
    where = table.get("measured", {})
    lines += ["", f"## Appendix D: the deployed classifier beside its teacher "
                  f"({where.get('dataset', dataset)}, n = {where.get('n')})", "",
              f"Measured by `python -m kdgan_tf.export --model_dir=DIR --quantize=all "
              f"--compression_table` on a {where.get('method')} run (seed {where.get('seed')}) "
              f"of `python -m kdgan_tf.train`, {where.get('utc')} UTC, {where.get('machine')}, "
              f"1-minute load {_fmt(where.get('load_average_1min'), '.1f')}, TensorFlow "
              f"{where.get('tensorflow')}; file "
              f"`{os.path.relpath(path, os.path.dirname(os.path.dirname(results_dir)))}`.", ""]
    lines += markdown(table["rows"], table["metric"], table.get("num_threads", 1),
                      where.get("dataset"))
  return lines
