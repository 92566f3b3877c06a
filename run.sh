#!/usr/bin/env bash
# Installs kdgan-tf into ./.venv (once) and runs the main job: KDGAN on MNIST, n = 100.
# Usage: bash run.sh [MODEL_DIR] [extra flags for kdgan_tf.train, e.g. --gin_bindings=...]
#        bash run.sh table1-mnist [--quick] [flags of kdgan_tf.reproduce]   (Table 1, resumable)
#        bash run.sh figures [--quick]   (Figures 3a, 4 and 7)
# Data: tensorflow-datasets' MNIST in $TFDS_DATA_DIR (default here: ../shared/tensorflow_datasets
# when that folder exists, else tfds' own default folder).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
fi
.venv/bin/python -c "import kdgan_tf" 2>/dev/null || .venv/bin/pip install --quiet -e ".[test]"
if [ -z "${TFDS_DATA_DIR:-}" ] && [ -d ../shared/tensorflow_datasets ]; then
  export TFDS_DATA_DIR=../shared/tensorflow_datasets
fi
case "${1:-}" in
  table1-mnist|figures)
    exec .venv/bin/python -m kdgan_tf.reproduce "$@" ;;
esac
model_dir=${1:-runs/mnist}
shift || true
exec .venv/bin/python -m kdgan_tf.train --gin_file=mnist.gin --model_dir="$model_dir" "$@"
