"""The teacher T and discriminator D of the MNIST experiments (slim `lenet`, authors' code).

conv 5x5x32 SAME ReLU -> max-pool 2 -> conv 5x5x64 SAME ReLU -> max-pool 2 -> FC 1024 ReLU ->
dropout 0.5 -> FC K: 3,274,634 parameters for 28x28x1 inputs and K = 10 (the paper's "3.1M").
T and D are two separate instances. D's K logits are its per-label scores g_y(x); the label is
never an input (authors' design), p_d(x, y) = sigmoid(g_y(x)).
Initialisation: truncated normal with std 0.1 for weights, zero biases (slim lenet); the L2
penalty is on weights only, 4e-5 * 0.5 * ||w||^2.
"""
import gin
import keras


@gin.configurable
def lenet(input_shape, num_classes, filters=(32, 64), dense_units=1024, dropout_rate=0.5,
          weight_decay=4e-5, init_stddev=0.1, name="lenet"):
  """Builds a LeNet; `init_stddev=None` switches to Keras' default Glorot-uniform."""
  reg = keras.regularizers.L2(weight_decay / 2.0) if weight_decay else None

  def init():
    if init_stddev is None:
      return "glorot_uniform"
    return keras.initializers.TruncatedNormal(stddev=init_stddev)

  inputs = keras.Input(shape=tuple(input_shape), name="images")
  h = inputs
  for f in filters:
    h = keras.layers.Conv2D(f, 5, padding="same", activation="relu", kernel_initializer=init(),
                            kernel_regularizer=reg)(h)
    h = keras.layers.MaxPooling2D(2)(h)
  h = keras.layers.Flatten()(h)
  h = keras.layers.Dense(dense_units, activation="relu", kernel_initializer=init(),
                         kernel_regularizer=reg)(h)
  h = keras.layers.Dropout(dropout_rate)(h)
  logits = keras.layers.Dense(num_classes, kernel_initializer=init(), kernel_regularizer=reg,
                              name="logits")(h)
  return keras.Model(inputs, logits, name=name)
