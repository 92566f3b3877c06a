"""What a grid is: its cells (protocol x n x method x seed, plus the Figure 4 sweep and the
Figure 7 probe), each cell's run folder, gin files and bindings, the files a run folder holds,
and how k workers split a grid by seed.

Why apart: everything else (scheduling, records, the report) walks these folders; the layout
runs_dir/<protocol>/<dataset>_n<n>/<method>[_<variant>]_s<seed> is defined here only.
"""
import os

import kdgan_tf  # noqa: F401  (sets the Keras backend first)
import gin

from kdgan_tf import grid_datasets
from kdgan_tf import outputs
from kdgan_tf.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METHOD_FILES = ("supervised_c", "mimic", "distn", "noisy", "codis", "nagan", "kdgan_wo_gm",
                "kdgan", "supervised_t")
MNIST = grid_datasets.DATASETS["mnist"]
PROTOCOL_FILES = ("honest", "authors")


TABLE_PROTOCOLS = ("honest", "authors")
# Figure 4: each of KDGAN's weights varied alone over the paper's search ranges (section 4),
# the others at mnist.gin's values; honest protocol, n = 100.
SENSITIVITY = {"alpha": (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0),
               "beta": (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0),
               "gamma": (0.0001, 0.001, 0.01, 0.1, 1.0, 10.0, 100.0)}
SENSITIVITY_QUICK = {"alpha": (0.1, 0.9), "beta": (0.1, 10.0), "gamma": (0.001, 1.0)}


DRIVER_FILE = "driver.json"  # how the driver trained a run: wall-clock, CPU sharing
GRID_BINDINGS_FILE = "grid_bindings.json"  # a grid's --gin_bindings, fixed at its first call
SAME_AS_FILE = "same_as.json"  # a run that IS another run (same configuration): where it lives


class Run:
  """One cell of a grid and its model_dir; `variant` names extra bindings (Figure 4).

  `same_as`: another Run with the same configuration (a Figure 4 point at the default weights
  is the Table 1 KDGAN run of that seed): that one is trained, once, and this folder only
  points to it (SAME_AS_FILE)."""

  def __init__(self, protocol, n, method, seed, runs_dir, variant="", extra_bindings=(),
               same_as=None, dataset=MNIST, dataset_name=None):
    self.protocol, self.n, self.method, self.seed = protocol, int(n), method, int(seed)
    self.variant, self.extra_bindings = variant, list(extra_bindings)
    self.runs_dir, self.same_as, self.dataset = runs_dir, same_as, dataset
    name = f"{method}_{variant}_s{seed}" if variant else f"{method}_s{seed}"
    # Named by the data the runs load (grid_datasets.resolved_name), not by the grid's key.
    self.model_dir = os.path.join(runs_dir, protocol,
                                  f"{dataset_name or dataset.key}_n{self.n}", name)

  def gin_files(self, quick=False):
    # The sensitivity and probe runs use the honest recipe.
    protocol = "authors" if self.protocol == "authors" else "honest"
    return (grid_datasets.protocol_files(self.dataset, protocol, self.n)
            + [f"{self.method}.gin"] + (["quick.gin"] if quick else []))

  def bindings(self, original_order_npz, extra):
    # A finished run's checkpoints (~300 MB) are not outputs: 360 runs would fill the disk.
    out = [f"run_experiment.seed = {self.seed}", f"load_image_classification.n = {self.n}",
           "run_experiment.keep_checkpoints = False"]
    if self.protocol == "authors" and self.dataset.needs_original_npz:
      out.append(f"load_image_classification.original_order_npz = '{original_order_npz}'")
    return out + self.extra_bindings + list(extra)

  def finished(self):
    """Trained to the end here, or (same_as) linked to a finished run."""
    return read_finished_record(self.model_dir) is not None

  def link(self):
    """Writes this folder's pointer to its same_as run."""
    os.makedirs(self.model_dir, exist_ok=True)
    outputs.write_json(os.path.join(self.model_dir, SAME_AS_FILE),
                       {"model_dir": os.path.relpath(self.same_as.model_dir, self.model_dir)})


def read_finished_record(model_dir):
  """metrics.json of a finished run in model_dir, following a SAME_AS_FILE; else None."""
  pointer = outputs.read_json(os.path.join(model_dir, SAME_AS_FILE), default=None)
  for folder in [model_dir] + ([os.path.join(model_dir, pointer["model_dir"])] if pointer else []):
    record = outputs.read_json(os.path.join(folder, "metrics.json"), default=None)
    if record and record.get("finished"):
      return record
  return None


def grid(protocols, ns, methods, seeds, runs_dir, dataset=MNIST, dataset_name=None):
  """Seed-major order inside each n, so a partial reproduction has complete seeds."""
  return [Run(p, n, m, s, runs_dir, dataset=dataset, dataset_name=dataset_name)
          for n in ns for s in range(seeds) for p in protocols for m in methods]


def sensitivity_grid(values, seeds, runs_dir, defaults=None):
  """KDGAN runs for Figure 4; they reuse the honest n = 100 players' pretraining cache. A point
  at the configured value (`defaults`, e.g. {"alpha": 0.5}) is the honest Table 1 KDGAN run of
  that seed, so it points to that run instead of training a copy."""
  cache = os.path.join(runs_dir, "honest", "mnist_n100", "pretrain_cache")
  defaults = defaults or {}
  return [Run("sensitivity", 100, "kdgan", seed, runs_dir, variant=f"{param}{value:g}",
              extra_bindings=[f"KDGAN.{param} = {value!r}",
                              f"run_experiment.pretrain_cache_dir = '{cache}'"],
              same_as=(Run("honest", 100, "kdgan", seed, runs_dir)
                       if defaults.get(param) == value else None))
          for seed in range(seeds) for param, grid_values in values.items()
          for value in grid_values]


def kdgan_defaults(extra_bindings=(), gin_files=("mnist.gin", "kdgan.gin")):
  """KDGAN's configured weights {alpha, beta, gamma}, read from the gin files themselves (and
  the grid's extra bindings, which every run gets too)."""
  from kdgan_tf.config import parse_config  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  try:
    parse_config(list(gin_files), list(extra_bindings))
    return {param: gin.query_parameter(f"KDGAN.{param}") for param in SENSITIVITY}
  finally:
    gin.clear_config()


def probe_grid(seeds, runs_dir):
  """KDGAN runs with the gradient-variance probe, for Figure 7 (honest n = 100 players)."""
  cache = os.path.join(runs_dir, "honest", "mnist_n100", "pretrain_cache")
  return [Run("probe", 100, "kdgan", seed, runs_dir,
              extra_bindings=["run_experiment.epoch_probe = @gradient_variance_probe",
                              f"run_experiment.pretrain_cache_dir = '{cache}'"])
          for seed in range(seeds)]


def parse_shard(text):
  """"i/k" -> (i, k): this worker trains the runs whose seed is i modulo k. Seeds never share
  a run folder or a pretraining-cache entry, so k workers (one per core, or per machine on a
  shared disk) never collide; the cache's atomic publish covers the rest."""
  try:
    index, count = (int(part) for part in text.split("/"))
  except ValueError:
    index, count = -1, 0
  if not 0 <= index < count:
    raise UserError(f"--shard={text}: expected i/k with 0 <= i < k, e.g. --shard=0/2 and "
                    "--shard=1/2 for two workers.")
  return index, count


def in_shard(runs, shard):
  index, count = shard
  return [run for run in runs if run.seed % count == index]


def default_original_order_npz():
  for candidate in (os.path.join(REPO, "..", "shared", "data", "mnist.npz"),
                    os.path.expanduser("~/.keras/datasets/mnist.npz")):
    if os.path.exists(candidate):
      return os.path.abspath(candidate)
  return None
