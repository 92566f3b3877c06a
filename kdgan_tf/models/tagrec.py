"""Players of the tag-recommendation task (paper section 4.2) and the authors' variant (facts 5.2).

Paper: the classifier h is an MLP on image features; the teacher and the discriminator score
labels with s(x, p) = MLP(img(x) * txt(p)), an MLP on the element-wise product of an image
projection and a representation of the privileged input p: an LSTM over word embeddings for
token ids, an MLP for a float vector. C reads the image view only (its builder is
`mlp_classifier`, which flattens any input); `privileged_scorer` builds T and D from whatever
views `run_experiment.player_views` gives them. Word embeddings are randomly initialised (no
pretrained vectors can be downloaded here); `embedding_file` loads a user's [V, dim] matrix.

Known limitation: an all-padding text gives a zero LSTM state, so the product, and with it
T's and D's logits for that example, no longer depend on the image. The YFCC100M builder keeps
only photos with a title or description, but one whose words are all filtered out still has an
empty text; a start token in every text would avoid it (not done here).

The authors' code (facts 5.2) is simpler: C and D linear on dropout(image features), T linear on
dropout(image) concatenated with the mean of 10-D word embeddings (padding included in the
mean) or, for a float privileged vector, with that vector: `concat_linear_scorer`
(gin_configs/corel5k_authors.gin).
"""
import os

import gin
import keras
import numpy as np

from kdgan_tf.data.views import INFERENCE_VIEW
from kdgan_tf.errors import UserError


def _as_views(input_shape):
  """{view: shape} for a dict input; a single view is the image view."""
  if isinstance(input_shape, dict):
    return {v: tuple(s) for v, s in sorted(input_shape.items())}
  return {INFERENCE_VIEW: tuple(input_shape)}


def _embedding(view, vocabulary_size, dim, embedding_file, name, mask_zero):
  initializer = keras.initializers.RandomUniform(-0.1, 0.1)
  if embedding_file:
    if not os.path.isfile(str(embedding_file)):
      raise UserError(f"embedding file {embedding_file!r} does not exist: set the gin binding "
                      f"privileged_scorer.embedding_file to a .npy [vocabulary, dim] matrix.")
    matrix = np.load(embedding_file)
    if matrix.ndim != 2 or matrix.shape[0] != vocabulary_size:
      raise UserError(f"embedding file {embedding_file} holds shape {matrix.shape}; the "
                      f"{view!r} view needs [{vocabulary_size}, dim] (privileged_scorer."
                      "embedding_file).")
    dim = matrix.shape[1]
    initializer = keras.initializers.Constant(matrix.astype(np.float32))
  return keras.layers.Embedding(vocabulary_size, dim, embeddings_initializer=initializer,
                                mask_zero=mask_zero, name=f"{name}_{view}_embedding")


@gin.configurable
def privileged_scorer(input_shape, num_classes, vocabulary_sizes=None, projection_units=100,
                      hidden_units=(800, 800), embedding_dim=100, embedding_file=None,
                      dropout_rate=0.2, weight_decay=4e-5, name="scorer"):
  """s(x, p) = MLP(relu(W x) * txt(p)) -> K logits (the paper's T and D).

  Args:
    input_shape: {view: shape} (the image view and the privileged ones), or one shape (then
      the scorer is an MLP on the image projection alone).
    vocabulary_sizes: {view: V} for token-id views (given by the loop).
    projection_units: width of the image projection and of each privileged representation
      (the paper's 100-D).
    hidden_units: the MLP on their element-wise product.
    embedding_dim: word-embedding width (ignored when `embedding_file` is given).
    embedding_file: optional .npy [V, dim] word-embedding matrix for the token view.
    dropout_rate, weight_decay: as in mlp_classifier (authors' 0.5 * ||w||^2 convention).
  """
  reg = keras.regularizers.L2(weight_decay / 2.0) if weight_decay else None
  dense = lambda units, **kw: keras.layers.Dense(units, kernel_regularizer=reg,
                                                 bias_regularizer=reg, **kw)
  views = _as_views(input_shape)
  vocabulary_sizes = dict(vocabulary_sizes or {})
  if INFERENCE_VIEW not in views:
    raise UserError(f"privileged_scorer needs the {INFERENCE_VIEW!r} view among its inputs, got "
                    f"{list(views)} (run_experiment.player_views).")
  inputs = {v: keras.Input(shape=s, name=v, dtype="int32" if v in vocabulary_sizes else
                           "float32") for v, s in views.items()}
  h = dense(projection_units, activation="relu", name="image_projection")(
      keras.layers.Flatten()(inputs[INFERENCE_VIEW]))
  for view in sorted(v for v in views if v != INFERENCE_VIEW):
    if view in vocabulary_sizes:  # token ids: LSTM over word embeddings (0 = padding, masked)
      words = _embedding(view, vocabulary_sizes[view], embedding_dim, embedding_file, name,
                         mask_zero=True)(inputs[view])
      p = keras.layers.LSTM(projection_units, name=f"{view}_lstm")(words)
    else:  # a float privileged vector: an MLP
      p = dense(projection_units, activation="relu", name=f"{view}_projection")(
          keras.layers.Flatten()(inputs[view]))
    h = keras.layers.Multiply(name=f"image_times_{view}")([h, p])
  for units in hidden_units:
    h = dense(units, activation="relu")(h)
    h = keras.layers.Dropout(dropout_rate)(h)
  logits = dense(num_classes, name="logits")(h)
  model_inputs = inputs if len(inputs) > 1 else inputs[INFERENCE_VIEW]
  return keras.Model(model_inputs, logits, name=name)


@gin.configurable
def concat_linear_scorer(input_shape, num_classes, vocabulary_sizes=None, embedding_dim=10,
                         embedding_file=None, dropout_rate=0.5, weight_decay=1e-4,
                         name="scorer"):
  """The authors' tag models (facts 5.2): one linear layer on dropout(image features), joined
  (concatenated) with the mean of word embeddings of each token view, padding included, or with
  each float privileged vector. L2 on the image branch only. With one view it is the authors' C
  and D (a linear model on dropout(image))."""
  reg = keras.regularizers.L2(weight_decay / 2.0) if weight_decay else None
  views = _as_views(input_shape)
  vocabulary_sizes = dict(vocabulary_sizes or {})
  inputs = {v: keras.Input(shape=s, name=v, dtype="int32" if v in vocabulary_sizes else
                           "float32") for v, s in views.items()}
  image = keras.layers.Dropout(dropout_rate)(keras.layers.Flatten()(inputs[INFERENCE_VIEW]))
  logits = keras.layers.Dense(num_classes, kernel_regularizer=reg, bias_regularizer=reg,
                              name="image_logits")(image)
  parts = []
  for view in sorted(v for v in views if v != INFERENCE_VIEW):
    if view in vocabulary_sizes:
      words = _embedding(view, vocabulary_sizes[view], embedding_dim, embedding_file, name,
                         mask_zero=False)(inputs[view])
      parts.append(keras.layers.GlobalAveragePooling1D(name=f"{view}_mean")(words))
    else:
      parts.append(keras.layers.Flatten()(inputs[view]))
  if parts:  # linear on [image, text]: image part regularised, text part not (authors' flags)
    joined = parts[0] if len(parts) == 1 else keras.layers.Concatenate()(parts)
    logits = keras.layers.Add(name="logits")(
        [logits, keras.layers.Dense(num_classes, use_bias=False, name="privileged_logits")(
            joined)])
  model_inputs = inputs if len(inputs) > 1 else inputs[INFERENCE_VIEW]
  return keras.Model(model_inputs, logits, name=name)
