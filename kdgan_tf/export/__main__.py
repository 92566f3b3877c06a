"""Command line: python -m kdgan_tf.export --model_dir=DIR [--quantize=all|none|float16|dynamic|
int8|a,comma,list] [--compression_table] [--num_threads=1] [--latency_runs=200]

DIR is a finished training run (it holds saved_model/, config.gin, metrics.json). Writes the
quantised classifiers DIR/classifier_{float32,float16,dynamic,int8}.tflite, DIR/labels.txt (the
class names, for `python -m kdgan_tf.predict`), DIR/export_report.json and prints a table: per
variant, top-1 agreement with the float model on the test set, test accuracy (P@3 for tag
runs), the drop against the float model in points, size and LiteRT latency at batch 1.
--compression_table also exports the teacher and writes DIR/compression_table.{json,md}
(the paper's Appendix D). The data splits come from re-parsing DIR/config.gin, so the run's
data must be where training found it (e.g. TFDS_DATA_DIR). Problems the user can fix end with
one sentence on stderr and exit code 2.
"""
import os
import sys

from absl import app
from absl import flags
from absl import logging

import kdgan_tf  # noqa: F401  (sets the Keras backend first)

FLAGS = flags.FLAGS


def define_flags():
  """Defined only when run as a program, so importing this module (tests) never clashes with
  kdgan_tf.train's --model_dir."""
  flags.DEFINE_string("model_dir", None, "A finished training run's folder (has saved_model/).")
  flags.DEFINE_string("quantize", None, "Variants: none (float32), float16, dynamic, int8, a "
                      "comma list, or all. Default: all, unless only --compression_table is "
                      "asked.")
  flags.DEFINE_bool("compression_table", False, "Also export the teacher and write "
                    "compression_table.json/.md (C vs T, the paper's Appendix D).")
  flags.DEFINE_integer("num_threads", 1, "LiteRT interpreter threads for the latency timing.")
  flags.DEFINE_integer("latency_runs", 200, "Timed batch-1 invocations (after 20 untimed).")
  flags.DEFINE_integer("representative_size", 500, "At most this many TRAINING examples "
                       "calibrate int8.")

def export_report(run, variants, num_threads=1, latency_runs=200, representative_size=500):
  """Quantises the run's exported classifier into `variants` and returns the report dict."""
  from kdgan_tf.export import quantize  # pylint: disable=g-import-not-at-top
  from kdgan_tf.export.run_dir import SAVED_MODEL  # pylint: disable=g-import-not-at-top
  report = quantize.export_variants(
      os.path.join(run.model_dir, SAVED_MODEL), run.model_dir, variants, run.inputs("train"),
      run.inputs("test"), run.splits.test.labels, run.task, num_threads=num_threads,
      latency_runs=latency_runs, representative_size=representative_size,
      seed=int(run.settings.get("seed", 0)))
  record = run.record
  return {"model_dir": os.path.abspath(run.model_dir), "dataset": record.get("dataset"),
          "n": record.get("n"), "seed": record.get("seed"), "method": record.get("method"),
          "metric": run.metric, "test_size": len(run.splits.test),
          "input_signature": {"name": quantize.INPUT_NAME, "dtype": "float32",
                              "shape": report["variants"][0]["input_shape"]},
          "int8_io": "float32 input and output (quantise/dequantise at the edges), so every "
                     "variant takes the same raw input",
          "latency": {"what": "median LiteRT invoke() at batch 1 after 20 warm-up runs",
                      "runs": latency_runs, "num_threads": num_threads},
          "drop_points": f"100 * (float {run.metric} - variant {run.metric})",
          **report}


def _write_labels(run):
  from kdgan_tf.export import run_dir  # pylint: disable=g-import-not-at-top
  names = run_dir.label_names(run.splits, run_dir.tfds_label_names(run.settings))
  return run_dir.write_labels(os.path.join(run.model_dir, run_dir.LABELS_FILE), names)


def run_export(model_dir, quantize=None, compression=False, num_threads=1, latency_runs=200,
               representative_size=500, log=print):
  """The whole command: returns (export report or None, compression rows or None) and writes
  them into model_dir. `quantize` None means "all" unless only the compression table is asked."""
  from kdgan_tf import outputs  # pylint: disable=g-import-not-at-top
  from kdgan_tf.errors import UserError  # pylint: disable=g-import-not-at-top
  from kdgan_tf.export import compression_table, run_dir  # pylint: disable=g-import-not-at-top
  from kdgan_tf.export import quantize as quantize_lib  # pylint: disable=g-import-not-at-top
  run_dir.check_model_dir(model_dir)
  text = quantize if quantize is not None else ("" if compression else "all")
  variants = quantize_lib.parse_variants(text) if text else ()
  for name, value in (("num_threads", num_threads), ("latency_runs", latency_runs),
                      ("representative_size", representative_size)):
    if value < 1:
      raise UserError(f"--{name} must be at least 1, got {value}.")
  run = run_dir.load_run(model_dir)
  _write_labels(run)
  report = rows = None
  if variants:
    report = export_report(run, variants, num_threads, latency_runs, representative_size)
    outputs.write_json(os.path.join(model_dir, "export_report.json"), report)
    log("\n".join(quantize_lib.format_table(report, run.metric)))
    log(f"latency: {report['latency']['what']}, {num_threads} thread(s); {run.metric} on "
        f"{report['test_size']} test examples; report in "
        f"{os.path.join(model_dir, 'export_report.json')}")
  if compression:
    rows = compression_table.build(run, num_threads=num_threads, latency_runs=latency_runs,
                                   representative_size=representative_size,
                                   classifier_variants=report and report["variants"])
    lines = compression_table.markdown(rows, run.metric, num_threads, run.record.get("dataset"))
    outputs.write_json(os.path.join(model_dir, "compression_table.json"),
                       {"metric": run.metric, "num_threads": num_threads, "rows": rows,
                        "measured": compression_table.provenance(run)})
    outputs.atomic_write_text(os.path.join(model_dir, "compression_table.md"),
                              "\n".join(lines) + "\n")
    log("\n".join(lines))
  return report, rows


def main(argv):
  if len(argv) > 1:
    print(f"kdgan_tf.export: error: unexpected arguments {argv[1:]}; every option is a --flag.",
          file=sys.stderr)
    sys.exit(2)
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  from kdgan_tf.errors import UserError  # pylint: disable=g-import-not-at-top
  try:
    run_export(FLAGS.model_dir, FLAGS.quantize, FLAGS.compression_table, FLAGS.num_threads,
               FLAGS.latency_runs, FLAGS.representative_size)
  except UserError as e:
    print(f"kdgan_tf.export: error: {str(e).splitlines()[0]}", file=sys.stderr)
    sys.exit(2)


def run():
  define_flags()
  app.run(main)


if __name__ == "__main__":
  run()
