"""Choosing the `tf.distribute` strategy (a command-line flag, not gin: it is hardware)."""
import tensorflow as tf

from kdgan_tf.errors import UserError

STRATEGIES = ("default", "mirrored", "tpu")


def make_strategy(name="default", tpu_address=None):
  """"default": no distribution (fastest on CPU); "mirrored": all local GPUs (or the CPU);
  "tpu": a TPU found through `tpu_address` (grpc address, name, or "local")."""
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
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
