"""Why NaGAN's classifier collapses: short NaGAN games with one change each, side by side.

  TFDS_DATA_DIR=../shared/tensorflow_datasets python benchmarks/nagan_collapse.py \
      --out runs/nagan_collapse [--n 1000] [--seed 0] [--epochs 8] [--pretrain_cache DIR]

Each variant is `python -m kdgan_tf.train` with the honest protocol's gin files (mnist.gin,
mnist_n<n>.gin unless n = 100, nagan.gin) and one extra binding; a variant already finished in
--out is not trained again. Point --pretrain_cache at the grid's cache
(runs/table1_mnist/honest/mnist_n<n>/pretrain_cache) so the players are not pretrained again;
then `default` repeats the grid's run of that seed epoch for epoch (the runs are deterministic).
Printed per variant: C's validation accuracy before the game and after each game epoch, the
first epoch below half of the pretrained value (REPORT.md's collapse rule), and the test
accuracy at the validation-selected and at the last epoch. Runs live in
<out>/<variant>_n<n>_s<seed>_e<epochs>.
After that, per game epoch, what D tells C on the training images (kdgan_tf/probes.py,
`discriminator_scores_probe`, which does not change the run). Last, the pretrained D's pair
scores p_d(x, y) = sigmoid(g_y(x)) on the validation images, for the true label and, per label
k, over the images of other classes: D was pretrained as a softmax classifier, so its sigmoid
scores of wrong labels are whatever that left them.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

from kdgan_tf.grid.rows import collapse_epoch  # REPORT.md's rule: below half of pretrained val

VARIANTS = {
    "default": [],  # nagan.gin as in the grid: REINFORCE without baseline, Adam 5e-4
    "baseline": ["reinforce.baseline = True"],  # reward minus its mean over the 20 samples
    "concrete": ["NaGAN.estimator = @concrete_pathwise"],  # KDGAN's estimator
    "lr5e-5": ["classifier/player_settings.game_learning_rate = 0.00005"],  # C's Adam / 10
    "anchored": ["NaGAN.supervised_weight = 1.0"],  # + hard-label CE on C (not Eq. 1)
}


def model_dir(args, name):
  """One folder per variant, n, seed and game length, so a rerun reuses only the same run."""
  return os.path.join(args.out, f"{name}_n{args.n}_s{args.seed}_e{args.epochs}")


def read_record(folder):
  path = os.path.join(folder, "metrics.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def train(args, name):
  folder = model_dir(args, name)
  if (read_record(folder) or {}).get("finished"):
    return
  gin_files = ["mnist.gin"] + ([f"mnist_n{args.n}.gin"] if args.n != 100 else []) + ["nagan.gin"]
  bindings = [f"run_experiment.seed = {args.seed}", f"run_experiment.game_epochs = {args.epochs}",
              "run_experiment.export = False",
              "run_experiment.epoch_probe = @discriminator_scores_probe"] + VARIANTS[name]
  if args.pretrain_cache:
    cache = os.path.abspath(args.pretrain_cache)
    bindings.append(f"run_experiment.pretrain_cache_dir = '{cache}'")
  command = [sys.executable, "-m", "kdgan_tf.train", f"--model_dir={folder}"]
  command += [f"--gin_file={f}" for f in gin_files] + [f"--gin_bindings={b}" for b in bindings]
  print(shlex.join(command), flush=True)
  subprocess.run(command, check=True)


def summary_line(name, record):
  epochs = record["game"]["epochs"]
  pretrained = record["pretrain"]["classifier"]["val_accuracy"]
  curve = " ".join(f"{100 * e['c_val_accuracy']:.1f}" for e in epochs)
  selected = record["game"]["selected"]
  return (f"{name:9s} | {100 * pretrained:5.1f} | {curve} | {collapse_epoch(record) or '-'} | "
          f"{selected['epoch']} | {100 * selected['test_accuracy']:.2f} | "
          f"{100 * epochs[-1]['c_test_accuracy']:.2f}")


def pretrained_d_scores(record, cache_dir, n):
  """Mean p_d of the true label, and of each label k over images not of class k (validation)."""
  import numpy as np  # pylint: disable=g-import-not-at-top  (TensorFlow only for this part)
  from kdgan_tf.data import image_classification  # pylint: disable=g-import-not-at-top
  from kdgan_tf.models import lenet  # pylint: disable=g-import-not-at-top
  key = record["pretrain"]["discriminator"]["cache_key"]
  splits = image_classification.load_image_classification("mnist", n=n)
  x_val, y_val = splits.val.views["image"], splits.val.labels
  model = lenet(x_val.shape[1:], splits.num_classes)
  model.load_weights(os.path.join(cache_dir, f"discriminator-{key}", "pretrained.weights.h5"))
  p = 1.0 / (1.0 + np.exp(-model.predict(x_val, batch_size=1000, verbose=0)))
  y = y_val
  wrong = [float(p[y != k, k].mean()) for k in range(splits.num_classes)]
  return float(p[np.arange(len(y)), y].mean()), wrong


PROBED = (("d_loss", "D's loss (2 ln 2 = 1.386 is chance)", "{:.3f}"),
          ("d_true_score", "D's score of the true label", "{:.2f}"),
          ("d_top_wrong_score", "D's highest score of a wrong label", "{:.2f}"),
          ("d_wrong_above_true", "share of images where a wrong label scores higher", "{:.2f}"),
          ("c_true_mass", "C's probability of the true label", "{:.2f}"),
          ("c_top_label_share", "largest share of images C assigns to one label", "{:.2f}"))


def probe_lines(name, record):
  """D's loss and the discriminator_scores_probe's numbers per game epoch (training images);
  a variant trained without the probe shows only D's loss."""
  epochs = record["game"]["epochs"]
  return [f"{name:9s} | {text:50s} | " + " ".join(form.format(e[key]) for e in epochs)
          for key, text, form in PROBED if all(key in e for e in epochs)]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", required=True)
  parser.add_argument("--n", type=int, default=1000, choices=(100, 1000, 10000))
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--epochs", type=int, default=8)
  parser.add_argument("--pretrain_cache", default=None)
  parser.add_argument("--variants", default=",".join(VARIANTS))
  args = parser.parse_args()
  names = args.variants.split(",")
  unknown = sorted(set(names) - set(VARIANTS))
  if unknown:
    sys.exit(f"unknown variants {unknown}; choose from {sorted(VARIANTS)}")
  if args.epochs < 1:
    sys.exit("--epochs must be at least 1.")
  for name in names:
    train(args, name)
  records = {name: read_record(model_dir(args, name)) for name in names}
  first = records[names[0]]
  print(f"\nNaGAN, honest protocol, n = {args.n}, seed {args.seed}. Before the game C's argmax "
        f"is right on {100 * first['game']['pretrained']['c_train_accuracy']:.1f} % of the n "
        "training images.")
  print("C's validation accuracy (%); collapsed: first epoch below half of the pretrained value "
        "(REPORT.md's rule); test accuracy (%) at the selected and at the last epoch.")
  print("variant   | before | after each game epoch | collapsed at | selected epoch | its test "
        "| last test")
  for name in names:
    print(summary_line(name, records[name]))
  print("\nAfter each game epoch, on the n training images (run_experiment.epoch_probe = "
        "@discriminator_scores_probe; D's loss from its own passes):")
  for name in names:
    print("\n".join(probe_lines(name, records[name])))
  cache_dir = args.pretrain_cache or os.path.join(args.out, "pretrain_cache")
  true_score, wrong = pretrained_d_scores(first, cache_dir, args.n)  # one D for all variants
  print(f"\npretrained D on the validation images: mean p_d(x, true label) {true_score:.3f}; "
        "mean p_d(x, k) over images of other classes, k = 0..9: "
        + " ".join(f"{w:.2f}" for w in wrong))


if __name__ == "__main__":
  main()
