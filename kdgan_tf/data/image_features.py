"""Image features for the tag-recommendation data: VGG16 fc7 (4096-D, after ReLU).

The authors' YFCC100M features (original-kdgan-facts.md section 5.1) are the slim VGG-16 end
point `vgg_16/fc7`: the second 4096-unit fully connected layer after its ReLU, before dropout.
In `keras.applications.VGG16(include_top=True)` that is the Dense layer named "fc2"
(activation="relu"), so `extract_vgg16_fc7` returns its output.

Preprocessing: each image is decoded to RGB, resized to 224x224 (bilinear, aspect ratio not
kept) and passed through `keras.applications.vgg16.preprocess_input` (RGB -> BGR, ImageNet
channel means subtracted), in inference mode (no dropout, no augmentation). Deviation from the
authors' code: their test features used slim's eval preprocessing (aspect-preserving resize of
the shorter side to 256, then a central 224x224 crop), and their training features were
extracted 500 times with random crops/flips and dropout on; here every image gets one
deterministic inference-mode feature.

`weights="imagenet"` needs the Keras ImageNet weights file (downloaded once into
~/.keras/models, or put there by hand when offline); `weights=None` gives a randomly
initialised network (for tests only); a path to a weights file also works.
"""
import os

import numpy as np

from kdgan_tf.errors import UserError

FC7_DIM = 4096
IMAGE_SIZE = 224
FC7_LAYER = "fc2"  # keras.applications.VGG16's name for the slim `vgg_16/fc7` end point

_MODELS = {}  # weights key -> fc7 model (random-weight models are cached too: the
# same features within one process; their unseeded initialisation differs between processes)


def vgg16_fc7_model(weights="imagenet"):
  """A Keras model mapping preprocessed [N, 224, 224, 3] images to fc7 features [N, 4096]."""
  key = "random" if weights is None else str(weights)
  if key not in _MODELS:
    import keras  # pylint: disable=g-import-not-at-top
    try:
      vgg = keras.applications.VGG16(include_top=True, weights=weights,
                                     input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
    except Exception as e:  # pylint: disable=broad-except  (download failure, bad file, ...)
      raise UserError(
          f"could not build VGG16 with weights={weights!r} ({type(e).__name__}: {e}); when "
          "offline, put vgg16_weights_tf_dim_ordering_tf_kernels.h5 into ~/.keras/models or pass "
          "a weights file path.") from e
    _MODELS[key] = keras.Model(vgg.input, vgg.get_layer(FC7_LAYER).output, name="vgg16_fc7")
  return _MODELS[key]


def load_image(path_or_array):
  """An image file path or an [H, W, C] array -> float32 [224, 224, 3] RGB in 0..255."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if isinstance(path_or_array, (str, bytes, os.PathLike)):
    path = os.fspath(path_or_array)
    if not tf.io.gfile.exists(path):
      raise UserError(f"image file {path!r} does not exist.")
    try:
      image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    except tf.errors.InvalidArgumentError as e:
      raise UserError(f"image file {path!r} could not be decoded: {e.message}") from e
  else:
    image = np.asarray(path_or_array)
    if image.ndim == 2:
      image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
      raise UserError(f"an image array must be [H, W, 1|3|4], got shape {image.shape}.")
    if image.shape[-1] == 1:
      image = np.concatenate([image] * 3, axis=-1)
    image = tf.convert_to_tensor(image[..., :3])
  image = tf.image.resize(tf.cast(image, tf.float32), (IMAGE_SIZE, IMAGE_SIZE),
                          method="bilinear")
  return image.numpy()


def extract_vgg16_fc7(paths_or_arrays, batch_size=32, weights="imagenet", progress=True):
  """VGG16 fc7 features (float32 [N, 4096], after ReLU) of images given as paths or arrays.

  Args:
    paths_or_arrays: a sequence of image file paths (any format tf.io.decode_image reads) or
      of [H, W, C] uint8/float arrays with values in 0..255.
    batch_size: images per forward pass.
    weights: "imagenet" (default), None (random weights, for tests) or a weights file path.
    progress: show a tqdm progress bar.
  """
  from keras.applications import vgg16  # pylint: disable=g-import-not-at-top
  items = list(paths_or_arrays)
  if not items:
    return np.zeros((0, FC7_DIM), np.float32)
  if int(batch_size) < 1:
    raise UserError(f"batch_size must be >= 1, got {batch_size}.")
  batch_size = int(batch_size)
  model = vgg16_fc7_model(weights)
  out = np.empty((len(items), FC7_DIM), np.float32)
  bar = None
  if progress:
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
    bar = tqdm(total=len(items), desc="VGG16 fc7", unit="img")
  try:
    for start in range(0, len(items), batch_size):
      chunk = items[start:start + batch_size]
      batch = vgg16.preprocess_input(np.stack([load_image(item) for item in chunk]))
      out[start:start + len(chunk)] = np.asarray(model(batch, training=False), np.float32)
      if bar is not None:
        bar.update(len(chunk))
  finally:
    if bar is not None:
      bar.close()
  return out
