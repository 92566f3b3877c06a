"""Choosing the `tf.distribute` strategy (a command-line flag, not gin: it is hardware)."""
import tensorflow as tf

from kdgan_tf.errors import UserError

STRATEGIES = ("default", "mirrored", "tpu")


def split_cpu(num_devices):
  """Splits the CPU into `num_devices` logical devices (before TF initialises its devices), so
  that multi-replica code paths can be exercised on a machine without accelerators."""
  cpus = tf.config.list_physical_devices("CPU")
  tf.config.set_logical_device_configuration(
      cpus[0], [tf.config.LogicalDeviceConfiguration()] * num_devices)


def make_strategy(name="default", tpu_address=None, num_virtual_cpus=0):
  """"default": no distribution (fastest on CPU); "mirrored": all local GPUs, else the CPU (or
  `num_virtual_cpus` logical CPUs); "tpu": a TPU found through `tpu_address` (grpc address,
  name, or "local")."""
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
