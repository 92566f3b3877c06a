"""Random affine augmentation, applied inside the compiled training step.

Ranges of the authors' Keras `ImageDataGenerator` used in every KD/GAN phase: rotation
U(-15, 15) degrees, shift U(-0.1, 0.1) of the size per axis, zoom U(0.9, 1.1) per axis. One
independent transform per image, drawn from a stateless seed (reproducible, resumable).
"""
import math

import gin
import tensorflow as tf


def no_augment(images, seed):
  """The identity, with random_affine's signature (augmentation off)."""
  del seed
  return images


@gin.configurable
def random_affine(images, seed, rotation_degrees=15.0, shift_fraction=0.1, zoom_fraction=0.1):
  """Applies one random rotation/shift/zoom per image (bilinear, zero fill).

  Args:
    images: [B, H, W, C] float.
    seed: int [2] stateless seed.
  Returns:
    [B, H, W, C] transformed images.
  """
  batch = tf.shape(images)[0]
  height, width = images.shape[1], images.shape[2]
  u = tf.random.stateless_uniform([batch, 5], seed=seed, minval=-1.0, maxval=1.0)
  theta = u[:, 0] * rotation_degrees * math.pi / 180.0
  tx, ty = u[:, 1] * shift_fraction * width, u[:, 2] * shift_fraction * height
  zx, zy = 1.0 + u[:, 3] * zoom_fraction, 1.0 + u[:, 4] * zoom_fraction
  cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
  # Output pixel p maps to input pixel A (p - c - t) + c with A = diag(zx, zy) R(-theta).
  cos, sin = tf.cos(theta), tf.sin(theta)
  a0, a1 = zx * cos, zx * sin
  b0, b1 = -zy * sin, zy * cos
  ox, oy = cx + tx, cy + ty
  a2 = cx - a0 * ox - a1 * oy
  b2 = cy - b0 * ox - b1 * oy
  zeros = tf.zeros_like(a0)
  transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
  return tf.raw_ops.ImageProjectiveTransformV3(
      images=images, transforms=transforms, output_shape=tf.constant([height, width]),
      fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
