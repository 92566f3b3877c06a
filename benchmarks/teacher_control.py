"""Do the KD baselines lose to KDGAN because their teacher is weaker? Reruns a grid cell's
DISTN and MIMIC runs with SUPERVISED-T's selected teacher in place of the pretrained one.

  python benchmarks/teacher_control.py --cell runs/table1_cifar10/honest/cifar10_n500 \
      [--seeds 2] [--methods distn,mimic] [--out runs/teacher_control]

Why: KDGAN, KDGAN-WO-GM and CODIS train T during the game (at the game's learning rate), the KD
baselines distil from the frozen pretrained T, and SUPERVISED-T shows how much the game's epochs
alone lift T. Each rerun is the grid run's own config.gin plus `run_experiment.init_from` = a
folder holding that seed's pretrained C (from the grid run) and SUPERVISED-T's best teacher as
the "pretrained" T. Needs the seed's run folders WITH weights (a grid that ran on this machine;
restored records have none) and the data (TFDS_DATA_DIR). A finished rerun is not trained
again. Prints, per (method, seed), the grid's number, the rerun's and KDGAN's of that seed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _selected_test(run_dir):
  with open(os.path.join(run_dir, "metrics.json")) as f:
    record = json.load(f)
  if not record.get("finished"):
    return None
  return record["game"]["selected"]["test_accuracy"]


def _init_folder(cell, seed, method, out):
  """out/init_s<seed>: the grid run's metrics.json (seed, data fingerprint) and pretrained C,
  with SUPERVISED-T's best teacher as pretrained T."""
  folder = os.path.join(out, f"init_s{seed}")
  weights = os.path.join(folder, "weights")
  teacher = os.path.join(cell, f"supervised_t_s{seed}", "weights", "best_teacher.weights.h5")
  source = os.path.join(cell, f"{method}_s{seed}")
  classifier = os.path.join(source, "weights", "pretrained_classifier.weights.h5")
  for path in (teacher, classifier):
    if not os.path.exists(path):
      sys.exit(f"teacher_control: {path} is missing: run the grid's seed {seed} on this machine "
               "first (committed records hold no weights).")
  os.makedirs(weights, exist_ok=True)
  shutil.copy(os.path.join(source, "metrics.json"), folder)
  shutil.copy(classifier, weights)
  shutil.copy(teacher, os.path.join(weights, "pretrained_teacher.weights.h5"))
  return folder


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--cell", required=True, help="a grid cell folder, e.g. "
                      "runs/table1_cifar10/honest/cifar10_n500")
  parser.add_argument("--seeds", default="2")
  parser.add_argument("--methods", default="distn,mimic")
  parser.add_argument("--out", default=os.path.join(REPO, "runs", "teacher_control"))
  args = parser.parse_args()
  cell, out = os.path.abspath(args.cell), os.path.abspath(args.out)
  rows = []
  for seed in (int(s) for s in args.seeds.split(",")):
    for method in args.methods.split(","):
      init = _init_folder(cell, seed, method, out)
      model_dir = os.path.join(out, f"{method}_supt_s{seed}")
      subprocess.run([sys.executable, "-m", "kdgan_tf.train",
                      f"--gin_file={os.path.join(cell, f'{method}_s{seed}', 'config.gin')}",
                      f"--gin_bindings=run_experiment.init_from = '{init}'",
                      f"--model_dir={model_dir}"], check=True, cwd=REPO)
      rows.append((method, seed, _selected_test(os.path.join(cell, f"{method}_s{seed}")),
                   _selected_test(model_dir),
                   _selected_test(os.path.join(cell, f"kdgan_s{seed}")),
                   _selected_test(os.path.join(cell, f"supervised_t_s{seed}"))))
  print(f"{'method':8s} {'seed':>4s} {'grid (pretrained T)':>20s} {'SUPERVISED-T teacher':>21s} "
        f"{'KDGAN':>7s} {'that teacher':>13s}")
  fmt = lambda v: "-" if v is None else f"{100 * v:.2f}"
  for method, seed, grid, control, kdgan, teacher in rows:
    print(f"{method:8s} {seed:4d} {fmt(grid):>20s} {fmt(control):>21s} {fmt(kdgan):>7s} "
          f"{fmt(teacher):>13s}")


if __name__ == "__main__":
  main()
