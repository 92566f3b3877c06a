"""The lightweight classifier C of the MNIST experiments (authors' `build_mlp_logits`).

784 -> FC 800 -> ReLU -> dropout -> FC 800 -> ReLU -> dropout -> FC K (logits):
1,276,810 parameters for K = 10 (the paper's "1.2M", in units of 2^20).
Dropout rate 0.12 (authors' keep probability 0.88); Glorot-uniform weights, zero biases.
L2 on weights AND biases: the authors use 4e-5 * 0.5 * ||w||^2, which is Keras' L2(2e-5).
"""
import gin
import keras


@gin.configurable
def mlp_classifier(input_shape, num_classes, hidden_units=(800, 800), dropout_rate=0.12,
                   weight_decay=4e-5, name="classifier"):
  """Builds C. `weight_decay` uses the authors' convention (coefficient of 0.5 * ||w||^2)."""
  reg = keras.regularizers.L2(weight_decay / 2.0) if weight_decay else None
  inputs = keras.Input(shape=tuple(input_shape), name="images")
  h = keras.layers.Flatten()(inputs)
  for units in hidden_units:
    h = keras.layers.Dense(units, activation="relu", kernel_regularizer=reg,
                           bias_regularizer=reg)(h)
    h = keras.layers.Dropout(dropout_rate)(h)
  logits = keras.layers.Dense(num_classes, kernel_regularizer=reg, bias_regularizer=reg,
                              name="logits")(h)
  return keras.Model(inputs, logits, name=name)
