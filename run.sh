#!/usr/bin/env bash
# Installs kdgan-tf into ./.venv (once) and runs the main job: KDGAN on MNIST, n = 100.
# Usage: bash run.sh install   (only install or check .venv)
#        bash run.sh [MODEL_DIR] [extra flags for kdgan_tf.train, e.g. --gin_bindings=...]
#        bash run.sh table1-mnist [--quick] [flags of kdgan_tf.reproduce]   (Table 1, resumable)
#        bash run.sh table1-cifar10 [--quick] [flags of kdgan_tf.reproduce]   (CIFAR-10 half)
#        bash run.sh figures [--quick]   (Figures 3a, 4 and 7)
#        bash run.sh table2-corel5k [--quick] [flags of kdgan_tf.table2]   (Table 2, resumable)
# Data: tensorflow-datasets' MNIST and CIFAR-10 in $TFDS_DATA_DIR (default here:
# ../shared/tensorflow_datasets when that folder exists, else tfds' own default folder).
set -euo pipefail
cd "$(dirname "$0")"
# Install whenever .venv cannot run the project: kdgan_tf/env_check.py runs isolated (not fooled
# by this folder being on sys.path) and checks every requirement, so a half-made .venv (an
# interrupted install) is completed. Silent and under a second when nothing is missing.
env_ok() { .venv/bin/python -I kdgan_tf/env_check.py "$PWD" 2>&1; }
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! missing=$(env_ok); then
  echo "run.sh: installing kdgan-tf and its requirements into .venv (${missing:-python broken})" >&2
  [ -x .venv/bin/pip ] || .venv/bin/python -m ensurepip --upgrade --default-pip >/dev/null
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e ".[test]"
  if ! missing=$(env_ok); then
    echo "run.sh: the install finished but .venv still cannot run kdgan-tf: $missing; remove .venv and rerun." >&2
    exit 1
  fi
fi
if [ -z "${TFDS_DATA_DIR:-}" ] && [ -d ../shared/tensorflow_datasets ]; then
  export TFDS_DATA_DIR=../shared/tensorflow_datasets
fi
case "${1:-}" in
  install)
    exit 0 ;;
  table1-mnist|table1-cifar10|figures)
    exec .venv/bin/python -m kdgan_tf.reproduce "$@" ;;
  table2-corel5k)
    shift
    exec .venv/bin/python -m kdgan_tf.table2 --dataset_gin=corel5k.gin "$@" ;;
esac
model_dir=${1:-runs/mnist}
shift || true
exec .venv/bin/python -m kdgan_tf.train --gin_file=mnist.gin --model_dir="$model_dir" "$@"
