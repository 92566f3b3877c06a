"""Command line: python -m kdgan_tf.train --gin_file=mnist.gin [--gin_file=...]
[--gin_bindings='KDGAN.alpha = 0.3'] --model_dir=DIR
[--strategy=default|mirrored|multi_worker|tpu]

A bare gin file name is looked up in the current folder, then in the project's gin_configs/.
Problems the user can fix (missing data, bad gin binding, bad n, corrupt checkpoint, bad
TF_CONFIG) end with one sentence on stderr and exit code 2, not a traceback.
--strategy=multi_worker: the same command on every machine, each with its own TF_CONFIG; the
chief (worker 0) writes model_dir (kdgan_tf/distribute.py says how to launch and resume).
"""
import os
import sys

from absl import app
from absl import flags
from absl import logging

import kdgan_tf  # noqa: F401  (sets the Keras backend first)
from kdgan_tf import distribute
import tensorflow as tf  # noqa: E402  (after kdgan_tf, which sets the Keras backend)
from kdgan_tf.config import GIN_CONFIG_DIR, parse_config, resolve_gin_file  # noqa: F401

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin config files; bare names are looked up in "
                          "gin_configs/.")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings, e.g. 'KDGAN.beta = 2.0'.")
flags.DEFINE_string("model_dir", None, "Output folder; rerun with the same folder to resume.")
flags.DEFINE_enum("strategy", "default", list(distribute.STRATEGIES),
                  "tf.distribute strategy: default (no distribution), mirrored (local GPUs), "
                  "multi_worker (several machines, configured by TF_CONFIG), tpu.")
flags.DEFINE_string("tpu", None, "TPU address or name for --strategy=tpu ('local' on a TPU VM).")
flags.DEFINE_integer("num_virtual_cpus", 0, "Split the CPU into this many logical devices "
                     "(with --strategy=mirrored: test multi-replica training without GPUs).")

def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # keep library INFO chatter out of the epoch lines
  from kdgan_tf.errors import UserError  # pylint: disable=g-import-not-at-top
  try:
    if not FLAGS.model_dir:
      raise UserError("--model_dir is required (the folder for checkpoints and outputs).")
    parse_config(FLAGS.gin_file, FLAGS.gin_bindings)
    from kdgan_tf import experiment  # pylint: disable=g-import-not-at-top
    strategy = distribute.make_strategy(FLAGS.strategy, FLAGS.tpu, FLAGS.num_virtual_cpus)
    record = experiment.run_experiment(FLAGS.model_dir, strategy=strategy)
  except UserError as e:
    # gin appends "In call to configurable ..." lines; the first line is the message.
    print(f"kdgan_tf: error: {str(e).splitlines()[0]}", file=sys.stderr)
    sys.exit(2)
  except tf.errors.UnavailableError:
    if FLAGS.strategy != "multi_worker":
      raise
    # Another worker died: its own log says why; here, only what to do.
    print("kdgan_tf: error: another worker of the cluster stopped (see its log); restart every "
          "worker with the same command to resume from the chief's last checkpoint.",
          file=sys.stderr)
    sys.exit(1)
  selected = record.get("game", {}).get("selected")
  if selected:
    player = record.get("selected_player", "classifier")
    metric = record.get("selection_metric", "accuracy")
    print(f"{record.get('method')}: {player} test {metric} at the validation-selected epoch "
          f"{selected['epoch']}: "
          f"{selected[f'test_{metric}']:.4f} (val {selected[f'val_{metric}']:.4f}); "
          f"outputs in {FLAGS.model_dir}")


def run():
  app.run(main)


if __name__ == "__main__":
  run()
