"""Choosing the `tf.distribute` strategy (a command-line flag, not gin: it is hardware), and who
writes the outputs when several workers train one run.

Multi-worker training (`--strategy=multi_worker`, MultiWorkerMirroredStrategy):
  * Every machine runs the SAME command with the same --model_dir and its own TF_CONFIG, e.g.
    on machine I of two:
      TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                  "task": {"type": "worker", "index": I}}' \
        python -m kdgan_tf.train --strategy=multi_worker --gin_file=mnist.gin --model_dir=DIR
    Worker 0 is the chief (or a task of type "chief", when the cluster lists one). The global
    batch is `run_experiment.batch_size`, split across all workers' devices; each worker reads
    its share of every batch (auto-shard policy DATA: the data are in memory on every worker).
  * Only the chief writes model_dir (checkpoints, metrics.json, weights/, tensorboard/, the
    export, the gin files) and publishes to the pretraining cache; the other workers make the
    same saves into a private temporary folder that is removed at the end, because saving can
    involve collective ops that every worker must join.
  * Every worker READS model_dir (to resume, and to see whether a run finished) and the
    pretraining cache, so put both on a filesystem every machine sees (NFS, GCS FUSE, ...).
  * To resume, restart every worker with the same command: all of them restore the chief's
    latest checkpoint. If one worker dies, the others stop within seconds (the coordination
    service misses its heartbeats) saying so; restart them all.
  * To try it on one machine: python -m kdgan_tf.local_cluster --workers=2 -- TRAIN_FLAGS.
"""
import atexit
import glob
import hashlib
import json
import os
import shutil
import tempfile

import tensorflow as tf

from kdgan_tf.errors import UserError

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")

_TF_CONFIG_EXAMPLE = ("TF_CONFIG='{\"cluster\": {\"worker\": [\"host0:port\", \"host1:port\"]}, "
                      "\"task\": {\"type\": \"worker\", \"index\": I}}' with I = 0 on the chief")


def split_cpu(num_devices):
  """Splits the CPU into `num_devices` logical devices (before TF initialises its devices), so
  that multi-replica code paths can be exercised on a machine without accelerators."""
  cpus = tf.config.list_physical_devices("CPU")
  tf.config.set_logical_device_configuration(
      cpus[0], [tf.config.LogicalDeviceConfiguration()] * num_devices)


def check_tf_config(text):
  """The parsed TF_CONFIG, or a UserError saying what to set (TF's own errors come later and
  read like crashes, or not at all: a bad task index makes the workers wait for ever)."""
  if not text:
    raise UserError(f"--strategy=multi_worker needs the TF_CONFIG environment variable on every "
                    f"worker, e.g. {_TF_CONFIG_EXAMPLE}.")
  try:
    config = json.loads(text)
  except ValueError as e:
    raise UserError(f"TF_CONFIG is not valid JSON ({e}); set it to e.g. "
                    f"{_TF_CONFIG_EXAMPLE}.") from e
  cluster = config.get("cluster") if isinstance(config, dict) else None
  task = config.get("task") if isinstance(config, dict) else None
  jobs_ok = isinstance(cluster, dict) and cluster and all(
      job in ("chief", "worker") and isinstance(hosts, list) and hosts
      and all(isinstance(h, str) and ":" in h for h in hosts) for job, hosts in cluster.items())
  task_ok = (isinstance(task, dict) and jobs_ok and task.get("type") in cluster
             and isinstance(task.get("index"), int)
             and 0 <= task["index"] < len(cluster[task["type"]]))
  if not (jobs_ok and task_ok):
    raise UserError("TF_CONFIG must name a cluster of \"worker\" (and optionally one \"chief\") "
                    "host:port lists and this machine's task (type and index into its list), "
                    f"e.g. {_TF_CONFIG_EXAMPLE}; got {text!r}.")
  return config


def multi_worker_strategy():
  """MultiWorkerMirroredStrategy from TF_CONFIG (blocks until every worker has started)."""
  check_tf_config(os.environ.get("TF_CONFIG"))
  return tf.distribute.MultiWorkerMirroredStrategy(
      cluster_resolver=tf.distribute.cluster_resolver.TFConfigClusterResolver())


def make_strategy(name="default", tpu_address=None, num_virtual_cpus=0):
  """"default": no distribution (fastest on CPU); "mirrored": all local GPUs, else the CPU (or
  `num_virtual_cpus` logical CPUs); "multi_worker": several machines configured by TF_CONFIG
  (see the module docstring); "tpu": a TPU found through `tpu_address` (grpc address, name, or
  "local")."""
  if name == "multi_worker":  # first: it must come before anything initialises TF's devices
    return multi_worker_strategy()
  if num_virtual_cpus:
    split_cpu(num_virtual_cpus)
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    if num_virtual_cpus and not tf.config.list_logical_devices("GPU"):
      return tf.distribute.MirroredStrategy(
          [d.name for d in tf.config.list_logical_devices("CPU")])
    return tf.distribute.MirroredStrategy()
  if name == "tpu":
    if not tpu_address:
      raise UserError("--strategy=tpu needs --tpu=ADDRESS (a grpc:// address, a TPU name, or "
                      "'local' on a TPU VM).")
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu="" if tpu_address == "local" else tpu_address)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise UserError(f"--strategy must be one of {STRATEGIES}, got {name!r}.")


def distribute_dataset(strategy, dataset):
  """`experimental_distribute_dataset`; across workers, every worker builds the same in-memory
  dataset and keeps its replicas' part of each global batch (policy DATA, said explicitly:
  AUTO would first look for files to shard, warn and fall back to DATA)."""
  if WorkerRole.workers(strategy)[0] > 1:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
  return strategy.experimental_distribute_dataset(dataset)


class WorkerRole:
  """Where this process writes (see the module docstring): the chief, or the only worker, into
  model_dir; any other worker into a private temporary folder that `close` (or the end of the
  process) removes."""

  def __init__(self, strategy, model_dir):
    self.strategy, self.model_dir = strategy, model_dir
    self.num_workers, self.task = self.workers(strategy)
    self.multi_worker = self.num_workers > 1
    self.chief = not self.multi_worker or strategy.extended.should_checkpoint
    self._tmp = None

  @property
  def write_dir(self):
    """model_dir on the chief; elsewhere a temporary folder, made when first needed. Its name
    is a function of (model_dir, task), so a worker restarted after a kill (which skipped the
    clean-up) replaces its predecessor's folder instead of leaving it behind."""
    if self.chief:
      return self.model_dir
    if self._tmp is None:
      digest = hashlib.sha1(os.path.abspath(self.model_dir).encode()).hexdigest()[:12]
      self._tmp = os.path.join(tempfile.gettempdir(),
                               f"kdgan-{self.task[0]}{self.task[1]}-{digest}")
      shutil.rmtree(self._tmp, ignore_errors=True)
      os.makedirs(self._tmp)
      atexit.register(self.close)  # also after an error
    return self._tmp

  @staticmethod
  def workers(strategy):
    """(number of workers, (task type, index)) of a multi-worker strategy, else (1, None)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
      return 1, None
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec().as_dict()
    count = sum(len(spec.get(job, ())) for job in ("chief", "worker"))
    return count, (resolver.task_type, resolver.task_id)

  def close(self):
    if self._tmp is not None:
      shutil.rmtree(self._tmp, ignore_errors=True)

  def latest_checkpoint(self, manager):
    """The chief's latest checkpoint: every worker resumes from it."""
    if self.chief:
      return manager.latest_checkpoint
    return tf.train.latest_checkpoint(os.path.join(self.model_dir, "checkpoints"))

  def adopt_chief_weights(self):
    """A resumed non-chief worker starts from the chief's weights/ (best-so-far weights written
    before the restart), so that it loads the same weights as the chief at the end of a phase.
    Safe to copy: the chief writes weights/ only after collective steps this worker has not
    joined yet."""
    if self.chief:
      return
    folder = os.path.join(self.write_dir, "weights")
    os.makedirs(folder, exist_ok=True)
    for path in glob.glob(os.path.join(self.model_dir, "weights", "*.weights.h5")):
      shutil.copyfile(path, os.path.join(folder, os.path.basename(path)))

  def _sum(self, value):
    """The sum of `value` over all replicas of all workers: one collective all-reduce."""
    values = self.strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(float(value), tf.float64))
    return float(self.strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None).numpy())

  def _votes(self, flag):
    return int(self._sum(1 if flag else 0))

  def check_same(self, value, what):
    """Stops every worker that sees another `value` (a small integer) than some other worker,
    e.g. the checkpoint to resume from: workers that started from different states would
    train different phases and wait for each other for ever."""
    if self.multi_worker and self._sum(value) != value * self.strategy.num_replicas_in_sync:
      raise UserError(f"the workers do not agree on {what} (this one: {value}): every worker must "
                      "see the chief's model_dir at the same path; put it on a shared filesystem "
                      "(or copy it to each machine) and restart them all.")
    return value

  def check_same_checkpoint(self, latest):
    """Every worker must resume from the chief's checkpoint `latest` (path ending in -N)."""
    if self.multi_worker:
      self.check_same(int(latest.rsplit("-", 1)[1]) if latest else 0, "the checkpoint to resume")

  def agree_any(self, flag):
    """True on every worker when `flag` is true on any (e.g. "a checkpoint is due" by one
    worker's clock), so that all make the same collective calls. Single worker: `flag`."""
    return bool(flag) if not self.multi_worker else self._votes(flag) > 0

  def agree_all(self, flag):
    """True on every worker when `flag` is true on all (e.g. "the cache has this entry")."""
    if not self.multi_worker:
      return bool(flag)
    return self._votes(flag) == self.strategy.num_replicas_in_sync
