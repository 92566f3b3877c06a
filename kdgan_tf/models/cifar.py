"""The CIFAR-10 players of the authors' code (facts §3); the paper-sized ones are gin bindings.

* `tutorial_cnn`: the TF CIFAR-10 tutorial network, the authors' classifier C and
  discriminator D: conv 5x5x64 -> max-pool 3/2 -> LRN -> conv 5x5x64 -> LRN -> max-pool 3/2 ->
  FC 384 -> FC 192 -> FC K, 1,756,426 parameters at 32x32x3 and K = 10. No dropout (as theirs).
* `preact_resnet`: the TF-models CIFAR ResNet the authors' teacher T used: pre-activation units,
  filters 16-16-32-64, leaky ReLU 0.1, batch norm (decay 0.9, eps 1e-3), average-pool plus
  zero-pad shortcuts. depth 20 (3 units per stage): 269,722 trainable parameters; depth 110
  (18 units): 1,727,962, the paper's "ResNet (1.7M)".
The paper's classifier "LeNet (0.5M)" is `lenet` (kdgan_tf/models/lenet.py) at CIFAR sizes,
see gin_configs/cifar10_paper_players.gin.
Inputs are whatever the input normalisation layer hands on (kdgan_tf/models/normalization.py):
the exported classifier still takes raw pixels in [0, 1].
"""
import gin
import keras
import tensorflow as tf


class LocalResponseNormalization(keras.layers.Layer):
  """tf.nn.local_response_normalization as a layer (a TF Lite builtin op)."""

  def __init__(self, depth_radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, **kwargs):
    super().__init__(**kwargs)
    self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

  def call(self, inputs):
    return tf.nn.local_response_normalization(inputs, depth_radius=self.depth_radius,
                                              bias=self.bias, alpha=self.alpha, beta=self.beta)

  def get_config(self):
    return dict(super().get_config(), depth_radius=self.depth_radius, bias=self.bias,
                alpha=self.alpha, beta=self.beta)


@gin.configurable
def tutorial_cnn(input_shape, num_classes, filters=(64, 64), dense_units=(384, 192),
                 weight_decay=0.004, name="tutorial_cnn"):
  """The TF CIFAR-10 tutorial CNN. `weight_decay` is the tutorial's coefficient of
  0.5 * ||w||^2 on the FC weights (tf.nn.l2_loss), i.e. Keras' L2(weight_decay / 2)."""
  reg = keras.regularizers.L2(weight_decay / 2.0) if weight_decay else None
  inputs = keras.Input(shape=tuple(input_shape), name="images")
  h = inputs
  for i, (f, bias) in enumerate(zip(filters, (0.0, 0.1))):
    h = keras.layers.Conv2D(f, 5, padding="same", activation="relu",
                            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.05),
                            bias_initializer=keras.initializers.Constant(bias))(h)
    if i == 0:
      h = keras.layers.MaxPooling2D(3, strides=2, padding="same")(h)
      h = LocalResponseNormalization()(h)
    else:
      h = LocalResponseNormalization()(h)
      h = keras.layers.MaxPooling2D(3, strides=2, padding="same")(h)
  h = keras.layers.Flatten()(h)
  for units in dense_units:
    h = keras.layers.Dense(units, activation="relu", kernel_regularizer=reg,
                           kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.04),
                           bias_initializer=keras.initializers.Constant(0.1))(h)
  logits = keras.layers.Dense(
      num_classes, name="logits",
      kernel_initializer=keras.initializers.TruncatedNormal(stddev=1.0 / dense_units[-1]))(h)
  return keras.Model(inputs, logits, name=name)


class ChannelZeroPad(keras.layers.Layer):
  """Zero-pads the channel axis to `filters` (the parameter-free shortcut of TF-models)."""

  def __init__(self, filters, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters

  def call(self, inputs):
    extra = self.filters - inputs.shape[-1]
    return tf.pad(inputs, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

  def get_config(self):
    return dict(super().get_config(), filters=self.filters)


def _shortcut(x, out_filters, stride):
  """Average-pool by `stride`, then zero-pad the channels (no parameters)."""
  if stride > 1:
    x = keras.layers.AveragePooling2D(stride, strides=stride, padding="valid")(x)
  if x.shape[-1] != out_filters:
    x = ChannelZeroPad(out_filters)(x)
  return x


@gin.configurable
def preact_resnet(input_shape, num_classes, depth=20, filters=(16, 16, 32, 64),
                  weight_decay=2e-4, leaky_slope=0.1, name="preact_resnet"):
  """Pre-activation CIFAR ResNet of depth 6k+2 (k units per stage). `weight_decay` is the
  coefficient of 0.5 * ||w||^2 on conv and FC weights, as in TF-models' resnet."""
  if (depth - 2) % 6:
    raise ValueError(f"preact_resnet.depth must be 6k + 2 (20, 32, 56, 110), got {depth}.")
  units = (depth - 2) // 6
  reg = keras.regularizers.L2(weight_decay / 2.0) if weight_decay else None

  def bn():
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)

  def act(x):
    return keras.layers.LeakyReLU(negative_slope=leaky_slope)(x)

  def conv(x, f, stride=1):
    return keras.layers.Conv2D(f, 3, strides=stride, padding="same", use_bias=False,
                               kernel_initializer="he_normal", kernel_regularizer=reg)(x)

  inputs = keras.Input(shape=tuple(input_shape), name="images")
  h = conv(inputs, filters[0])
  for stage, out_filters in enumerate(filters[1:]):
    for unit in range(units):
      stride = 2 if stage > 0 and unit == 0 else 1
      pre = act(bn()(h))
      # The first unit of the first stage takes its shortcut from the activated input.
      shortcut = pre if stage == 0 and unit == 0 else h
      r = conv(pre, out_filters, stride)
      r = conv(act(bn()(r)), out_filters)
      h = keras.layers.Add()([r, _shortcut(shortcut, out_filters, stride)])
  h = act(bn()(h))
  h = keras.layers.GlobalAveragePooling2D()(h)
  logits = keras.layers.Dense(num_classes, kernel_regularizer=reg, name="logits")(h)
  return keras.Model(inputs, logits, name=name)
