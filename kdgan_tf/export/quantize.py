"""Post-training quantisation of an exported SavedModel into TF Lite variants, and the numbers
that say whether a variant may be deployed (agreement, accuracy, size, latency).

Why `tf.lite.TFLiteConverter` and not the TF Model Optimization Toolkit: the toolkit needs
Keras 2, and post-training quantisation is all a deployed classifier needs. The variants:
  * "none":    float32, what training already exported (`classifier.tflite`);
  * "float16": float16 weights, dequantised to float32 when the model loads;
  * "dynamic": int8 weights, activations quantised on the fly (dynamic range);
  * "int8":    full-integer int8 weights AND activations, calibrated on a representative
    dataset drawn from the TRAINING split only (the test split must stay unseen). Its input and
    output stay float32 (a quantise op after the input, a dequantise op before the output), so
    every variant keeps the one signature `serving_default(images: float32 raw pixels in [0, 1]
    or features) -> {"probabilities"}` and the same caller code runs them all.
"""
import os
import statistics
import time
import warnings

import numpy as np
import tensorflow as tf

from kdgan_tf.errors import UserError
from kdgan_tf.export import tflite

VARIANTS = ("none", "float16", "dynamic", "int8")
SUFFIX = {"none": "float32", "float16": "float16", "dynamic": "dynamic", "int8": "int8"}
INPUT_NAME = "images"  # the signature's input (export_classifier's TensorSpec name)
MB = 1e6  # sizes are reported in bytes and in MB = 10^6 bytes


def parse_variants(text):
  """'all', one variant or a comma list -> a tuple of variants in VARIANTS order."""
  names = [t.strip() for t in str(text).split(",") if t.strip()]
  if names == ["all"]:
    return VARIANTS
  unknown = [n for n in names if n not in VARIANTS]
  if unknown or not names:
    raise UserError(f"--quantize={text!r}: give one of {', '.join(VARIANTS)}, a comma list of "
                    "them, or all.")
  return tuple(v for v in VARIANTS if v in names)


def variant_path(model_dir, variant, prefix="classifier"):
  return os.path.join(model_dir, f"{prefix}_{SUFFIX[variant]}.tflite")


def representative_dataset(train_inputs, size=500, seed=0):
  """The int8 calibration data: a generator function over at most `size` examples of the
  TRAINING split's inputs, one at a time (batch 1, as deployed), in a seeded random order."""
  x = np.asarray(train_inputs, np.float32)
  if not len(x):
    raise UserError("the training split is empty: there is nothing to calibrate int8 on.")
  chosen = np.random.RandomState(seed).permutation(len(x))[:int(size)]

  def generate():
    for i in chosen:
      yield {INPUT_NAME: x[i:i + 1]}

  return generate


def convert(saved_model_dir, variant, tflite_path, representative=None):
  """Writes the `variant` TF Lite model of the SavedModel's serving signature (atomically).

  `representative` (a generator function, see `representative_dataset`) is required for int8."""
  converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir,
                                                       signature_keys=[tflite.SIGNATURE])
  if variant != "none":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if variant == "float16":
    converter.target_spec.supported_types = [tf.float16]
  elif variant == "int8":
    if representative is None:
      raise ValueError("int8 quantisation needs a representative dataset.")
    converter.representative_dataset = representative
    # Only int8 kernels: conversion fails rather than silently leaving float ops behind.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
  elif variant not in ("none", "dynamic"):
    raise ValueError(f"unknown variant {variant!r}")
  with warnings.catch_warnings():  # int8 calibration runs TF's own (deprecated) interpreter
    warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
    data = converter.convert()
  tmp = tflite_path + ".tmp"
  with open(tmp, "wb") as f:
    f.write(data)
  os.replace(tmp, tflite_path)
  return tflite_path


def reference_probabilities(saved_model_dir, inputs, batch_size=1000):
  """The float model's probabilities [N, K] from the SavedModel's signature (what was
  trained and exported, with no rebuilding)."""
  fn = tf.saved_model.load(saved_model_dir).signatures[tflite.SIGNATURE]
  out = [fn(**{INPUT_NAME: tf.constant(inputs[s:s + batch_size], tf.float32)})["probabilities"]
         for s in range(0, len(inputs), batch_size)]
  return np.concatenate([o.numpy() for o in out])


def compare(probabilities, reference, labels, task):
  """Top-1 agreement with the reference model's probabilities, and the task's selection
  measure (accuracy, or P@3 for tag runs) of `probabilities` against `labels`."""
  probabilities, reference = np.asarray(probabilities), np.asarray(reference)
  agreement = float(np.mean(np.argmax(probabilities, -1) == np.argmax(reference, -1)))
  return {"agreement": agreement,
          task.selection_metric: float(task.evaluate(probabilities, labels)[
              task.selection_metric])}


def latency_ms(tflite_path, example, num_threads=1, runs=200, warmup=20):
  """Median milliseconds of one `invoke()` at batch 1 (input set once, outside the timing),
  after `warmup` untimed invocations, with the interpreter's `num_threads`."""
  interpreter = tflite._interpreter(tflite_path, num_threads)  # pylint: disable=protected-access
  detail = interpreter.get_input_details()[0]
  interpreter.resize_tensor_input(detail["index"], [1, *np.shape(example)])
  interpreter.allocate_tensors()
  interpreter.set_tensor(detail["index"], np.asarray(example, detail["dtype"])[None])
  for _ in range(warmup):
    interpreter.invoke()
  times = []
  for _ in range(runs):
    start = time.perf_counter()
    interpreter.invoke()
    times.append(time.perf_counter() - start)
  return 1000.0 * statistics.median(times)


def tensor_dtypes(tflite_path):
  """{dtype name: elements} over every tensor of the model (weights and activations): an int8
  model is int8 where it counts (its weight matrices), whatever its float32 edges are."""
  interpreter = tflite._interpreter(tflite_path)  # pylint: disable=protected-access
  counts = {}
  for t in interpreter.get_tensor_details():
    name = np.dtype(t["dtype"]).name
    counts[name] = counts.get(name, 0) + int(np.prod(t["shape"]))
  return counts


def input_shape(tflite_path):
  """The signature's input shape per batch, [None, ...], as the model itself declares it."""
  interpreter = tflite._interpreter(tflite_path)  # pylint: disable=protected-access
  runner = interpreter.get_signature_runner(tflite.SIGNATURE)
  shape = runner.get_input_details()[INPUT_NAME]["shape_signature"]
  return [None if d < 0 else int(d) for d in shape]


def file_size(path):
  size = os.path.getsize(path)
  return {"bytes": size, "MB": size / MB}


def evaluate_variant(tflite_path, test_inputs, reference, labels, task, reference_metric,
                     num_threads=1, latency_runs=200):
  """One report row: agreement, measure, drop vs the float model (in points), size, latency."""
  lite = tflite.tflite_predict(tflite_path, test_inputs)
  row = {"file": os.path.basename(tflite_path), "input_shape": input_shape(tflite_path),
         **file_size(tflite_path),
         **compare(lite, reference, labels, task)}
  metric = task.selection_metric
  row[f"{metric}_drop_points"] = 100.0 * (reference_metric - row[metric])
  row["latency_ms_batch1"] = latency_ms(tflite_path, test_inputs[0], num_threads, latency_runs)
  row["tensor_elements_by_dtype"] = tensor_dtypes(tflite_path)
  return row


def export_variants(saved_model_dir, out_dir, variants, train_inputs, test_inputs, labels, task,
                    prefix="classifier", num_threads=1, latency_runs=200,
                    representative_size=500, seed=0):
  """Converts and evaluates each variant; returns {"float_reference": ..., "variants": [...]}.

  `train_inputs` is only used for int8 calibration; `test_inputs`/`labels` only for measuring.
  """
  test_inputs = np.asarray(test_inputs, np.float32)
  reference = reference_probabilities(saved_model_dir, test_inputs)
  metric = task.selection_metric
  reference_metric = float(task.evaluate(reference, labels)[metric])
  rows = []
  for variant in variants:
    path = variant_path(out_dir, variant, prefix)
    representative = (representative_dataset(train_inputs, representative_size, seed)
                      if variant == "int8" else None)
    convert(saved_model_dir, variant, path, representative)
    row = {"variant": variant, **evaluate_variant(path, test_inputs, reference, labels, task,
                                                  reference_metric, num_threads, latency_runs)}
    if variant == "int8":
      row["calibration"] = {"split": "train",
                            "examples": int(min(representative_size, len(train_inputs)))}
    rows.append(row)
  return {"float_reference": {"model": "SavedModel (float32 Keras)", metric: reference_metric},
          "variants": rows}


def format_table(report, metric):
  """The printed table: one line per variant (plus the float reference)."""
  header = (f"{'variant':<9} {'file':<28} {'bytes':>10} {'MB':>7} {'agree':>7} "
            f"{metric:>8} {'drop pts':>8} {'ms/ex':>8}")
  lines = [header, "-" * len(header),
           f"{'keras':<9} {'saved_model/':<28} {'':>10} {'':>7} {'1.0000':>7} "
           f"{report['float_reference'][metric]:>8.4f} {'':>8} {'':>8}"]
  for r in report["variants"]:
    lines.append(f"{r['variant']:<9} {r['file']:<28} {r['bytes']:>10d} {r['MB']:>7.3f} "
                 f"{r['agreement']:>7.4f} {r[metric]:>8.4f} {r[metric + '_drop_points']:>8.2f} "
                 f"{r['latency_ms_batch1']:>8.4f}")
  return lines
