"""Command line: python -m kdgan_tf.predict --model=FILE.tflite [--top_k=3] [--labels=FILE]
INPUTS...

Prints the top-k labels, by name, with their probabilities, for each input: PNG/JPEG images
(decoded, converted to the model's channels, resized to its height x width and scaled to
[0, 1], as the training pipeline feeds pixels) or .npy arrays of one example ([D], or the
model's image shape) or several ([N, D] / [N, H, W, C]). The model's input shape comes from the
model itself. Label names: --labels (one a line), else labels.txt beside the model (written by
`python -m kdgan_tf.export`), else class indices. Models with int8 input/output are handled
through their quantisation parameters. Problems the user can fix: one sentence on stderr, exit 2.
"""
import os
import sys

from absl import app
from absl import flags
from absl import logging
import numpy as np

from kdgan_tf.errors import UserError  # (importing kdgan_tf also quiets TensorFlow's logs)

FLAGS = flags.FLAGS


def define_flags():
  """Defined only when run as a program, so importing this module never clashes with others."""
  flags.DEFINE_string("model", None, "A .tflite written by kdgan_tf.export or training.")
  flags.DEFINE_integer("top_k", 3, "How many labels to print per input.")
  flags.DEFINE_string("labels", None, "Label names, one a line (default: labels.txt beside "
                      "the model, else class indices).")


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
# As in kdgan_tf/export (tflite.SIGNATURE, run_dir.LABELS_FILE), repeated so that predicting on
# .npy inputs needs only LiteRT and numpy, not TensorFlow (which only decodes images here).
SIGNATURE = "serving_default"
LABELS_FILE = "labels.txt"


def _interpreter(path):
  """LiteRT's interpreter (no TensorFlow needed), else TensorFlow's deprecated one."""
  try:
    from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
  except ImportError:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    Interpreter = tf.lite.Interpreter  # pylint: disable=invalid-name
  return Interpreter(model_path=path)


def load_model(path):
  """(signature runner, input detail, output detail) of the model's serving signature."""
  if not path:
    raise UserError("--model is required (a .tflite written by `python -m kdgan_tf.export`).")
  if not os.path.isfile(path):
    raise UserError(f"--model={path} does not exist.")
  try:
    runner = _interpreter(path).get_signature_runner(SIGNATURE)
  except Exception as e:  # pylint: disable=broad-except  (not a flatbuffer, no signature)
    raise UserError(f"--model={path} is not a TF Lite model with a {SIGNATURE!r} signature "
                 f"({type(e).__name__}).") from e
  (name, inp), = runner.get_input_details().items()
  (out_name, out), = runner.get_output_details().items()
  return runner, dict(inp, key=name), dict(out, key=out_name)


def read_image(path, height, width, channels):
  """A PNG/JPEG as float32 [H, W, C] in [0, 1], in the model's size and channels."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
  except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
    raise UserError(f"{path} is not a readable PNG or JPEG image.") from e
  image = tf.image.convert_image_dtype(image, tf.float32)  # [0, 1], whatever the bit depth
  have = int(image.shape[-1])
  if have in (2, 4):  # drop alpha
    image = image[..., :have - 1]
    have -= 1
  if channels == 1 and have == 3:
    image = tf.image.rgb_to_grayscale(image)
  elif channels == 3 and have == 1:
    image = tf.image.grayscale_to_rgb(image)
  elif channels not in (1, 3):
    raise UserError(f"the model takes {channels}-channel images; only 1 (gray) or 3 (RGB) can be "
                 "made from a PNG or JPEG.")
  if tuple(image.shape[:2]) != (height, width):
    image = tf.image.resize(image, (height, width), antialias=True)
  return tf.clip_by_value(image, 0.0, 1.0).numpy()


def read_inputs(path, example_shape):
  """[N, *example_shape] float32 from one input file."""
  if not os.path.isfile(path):
    raise UserError(f"input {path} does not exist.")
  ext = os.path.splitext(path)[1].lower()
  if ext == ".npy":
    try:
      array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
      raise UserError(f"{path} is not a readable .npy array.") from e
    if tuple(array.shape) == tuple(example_shape):
      array = array[None]
    if tuple(array.shape[1:]) != tuple(example_shape) or not np.issubdtype(array.dtype,
                                                                           np.number):
      raise UserError(f"{path} holds an array of shape {list(array.shape)} ({array.dtype}); the "
                   f"model takes numbers of shape {list(example_shape)} or [N, "
                   f"{', '.join(map(str, example_shape))}].")
    return array.astype(np.float32)
  if ext in IMAGE_EXTENSIONS:
    if len(example_shape) != 3:
      raise UserError(f"{path} is an image, but the model takes feature vectors of shape "
                   f"{list(example_shape)}: give a .npy array.")
    return read_image(path, *example_shape)[None]
  raise UserError(f"{path}: unknown input type {ext or '(no extension)'}; give PNG/JPEG images or "
               ".npy arrays.")


def label_names(model_path, num_classes, labels_path=None):
  """Names of the K classes: --labels, else labels.txt beside the model, else indices."""
  path = labels_path or os.path.join(os.path.dirname(os.path.abspath(model_path)), LABELS_FILE)
  if not os.path.isfile(path):
    if labels_path:
      raise UserError(f"--labels={labels_path} does not exist.")
    return [str(i) for i in range(num_classes)]
  with open(path) as f:
    names = f.read().splitlines()
  if len(names) != num_classes:
    raise UserError(f"{path} has {len(names)} label names but the model has {num_classes} "
                 "classes; give the labels of this model with --labels.")
  return names


def _quantize(x, detail):
  scale, zero = detail["quantization"]
  if not np.issubdtype(detail["dtype"], np.integer) or not scale:
    return x.astype(detail["dtype"])
  info = np.iinfo(detail["dtype"])
  return np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])


def _dequantize(y, detail):
  scale, zero = detail["quantization"]
  if np.issubdtype(y.dtype, np.integer) and scale:
    return (y.astype(np.float32) - zero) * scale
  return y.astype(np.float32)


def predict(model_path, inputs, top_k=3, labels_path=None):
  """[(input name, [(label, probability), ...] best first)] for every example of `inputs`."""
  if top_k < 1:
    raise UserError(f"--top_k must be at least 1, got {top_k}.")
  if not inputs:
    raise UserError("give at least one input (PNG/JPEG images or .npy arrays) after the flags.")
  runner, inp, out = load_model(model_path)
  example_shape = [int(d) for d in inp["shape_signature"][1:]]
  num_classes = int(out["shape_signature"][-1])
  names = label_names(model_path, num_classes, labels_path)
  results = []
  for path in inputs:
    batch = read_inputs(path, example_shape)
    probs = _dequantize(runner(**{inp["key"]: _quantize(batch, inp)})[out["key"]], out)
    for i, p in enumerate(probs):
      best = np.argsort(-p, kind="stable")[:top_k]
      label = path if len(batch) == 1 else f"{path}[{i}]"
      results.append((label, [(names[j], float(p[j])) for j in best]))
  return results


def main(argv):
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  try:
    for name, ranked in predict(FLAGS.model, argv[1:], FLAGS.top_k, FLAGS.labels):
      print(f"{name}: " + ", ".join(f"{label} ({p:.4f})" for label, p in ranked))
  except UserError as e:
    print(f"kdgan_tf.predict: error: {str(e).splitlines()[0]}", file=sys.stderr)
    sys.exit(2)


def run():
  define_flags()
  app.run(main)


if __name__ == "__main__":
  run()
