"""Input normalisation as the first layer of every image player (gin
`run_experiment.input_normalization`).

Why inside the model: the exported classifier must take raw pixels in [0, 1], exactly what
the data pipeline feeds, so whatever a recipe does to pixels before the first convolution
travels with the weights into the SavedModel and the `.tflite`. Two recipes of CIFAR-10:
  * "per_pixel_mean": subtract the mean training image (the paper, section 4.1). The mean is
    a non-trainable weight computed from the n training images of the run (never validation
    or test), so it is saved, cached and exported with the player.
  * "per_image_standardization": each image minus its own mean, over its own std (floored at
    1/sqrt(pixels)), as the authors' code did (tf.image.per_image_standardization).
"none" (MNIST: "we do not preprocess") builds the player unwrapped, exactly as before.
"""
import keras
import numpy as np
import tensorflow as tf

from kdgan_tf.errors import UserError

NORMALIZATIONS = ("none", "per_pixel_mean", "per_image_standardization")


class PerPixelMean(keras.layers.Layer):
  """x - mean_image, the mean a non-trainable weight."""

  def __init__(self, mean_image, **kwargs):
    super().__init__(**kwargs)
    self._initial = np.asarray(mean_image, np.float32)

  def build(self, input_shape):
    self.mean = self.add_weight(name="mean_image", shape=self._initial.shape,
                                initializer=keras.initializers.Constant(self._initial),
                                trainable=False)

  def call(self, inputs):
    return inputs - self.mean

  def get_config(self):  # the mean itself is a weight (and covered by the data fingerprint)
    return dict(super().get_config(), mean_shape=list(self._initial.shape))


class PerImageStandardization(keras.layers.Layer):
  """tf.image.per_image_standardization, written out so TF Lite sees plain ops."""

  def call(self, inputs):
    pixels = float(np.prod(inputs.shape[1:]))
    mean = tf.reduce_mean(inputs, axis=[1, 2, 3], keepdims=True)
    std = tf.sqrt(tf.reduce_mean(tf.square(inputs - mean), axis=[1, 2, 3], keepdims=True))
    return (inputs - mean) / tf.maximum(std, 1.0 / np.sqrt(pixels))


def normalizing(builder, normalization, train_images):
  """`builder` with `normalization` as its first layer (the builder itself for "none")."""
  if normalization in (None, "none"):
    return builder
  if normalization not in NORMALIZATIONS:
    raise UserError(f"run_experiment.input_normalization must be one of {NORMALIZATIONS}, got "
                    f"{normalization!r}.")

  def build(input_shape, num_classes, name, **kwargs):
    if isinstance(input_shape, dict) or len(input_shape) != 3:
      raise UserError(f"run_experiment.input_normalization = {normalization!r} is for players "
                      f"that read one image view [H, W, C]; the {name} reads {input_shape}: "
                      "set it to 'none' for this dataset.")
    core = builder(input_shape=input_shape, num_classes=num_classes, name=f"{name}_core",
                   **kwargs)
    layer = (PerPixelMean(np.mean(train_images, axis=0), name="per_pixel_mean")
             if normalization == "per_pixel_mean"
             else PerImageStandardization(name="per_image_standardization"))
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    return keras.Model(inputs, core(layer(inputs)), name=name)

  return build
