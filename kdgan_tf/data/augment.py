"""Random affine augmentation, applied inside the compiled training step.

Ranges of the authors' Keras `ImageDataGenerator` used in every KD/GAN phase: rotation
U(-15, 15) degrees, shift U(-0.1, 0.1) of the size per axis, zoom U(0.9, 1.1) per axis. One
independent transform per image, drawn from a stateless seed (reproducible, resumable).
"""
import collections
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


def _shift_flip(images, dx, dy, flip):
  """Integer shifts (dx, dy) [B] with zero fill, then a horizontal flip where `flip` [B] is 1:
  one projective transform per image, nearest-neighbour, so pixels are copied, not blended."""
  width = images.shape[2]
  sign = 1.0 - 2.0 * flip  # +1 keep, -1 mirror
  # Output pixel x reads input x' = sign * x + (width - 1) * flip - dx (and y' = y - dy).
  a0, a2 = sign, (width - 1) * flip - dx
  zeros, ones = tf.zeros_like(a0), tf.ones_like(a0)
  transforms = tf.stack([a0, zeros, a2, zeros, ones, -dy, zeros, zeros], axis=1)
  return tf.raw_ops.ImageProjectiveTransformV3(
      images=images, transforms=transforms,
      output_shape=tf.constant([images.shape[1], width]), fill_value=0.0,
      interpolation="NEAREST", fill_mode="CONSTANT")


@gin.configurable
def mirror(images, seed):
  """Random horizontal mirroring, each image with probability 1/2 (the paper's CIFAR-10
  augmentation, section 4.1)."""
  flip = tf.cast(mirror_flips(images, seed), images.dtype)
  zeros = tf.zeros_like(flip)
  return _shift_flip(images, zeros, zeros, flip)


def mirror_flips(images, seed):
  """[B] bool: which images `mirror` flips under `seed` (its one random draw)."""
  return tf.random.stateless_uniform([tf.shape(images)[0]], seed=seed) < 0.5


def mirrored(images):
  """Every image flipped horizontally, exactly as `mirror` flips the ones it draws."""
  ones = tf.ones([tf.shape(images)[0]], images.dtype)
  return _shift_flip(images, 0.0 * ones, 0.0 * ones, ones)


@gin.configurable
def pad_crop_flip(images, seed, padding=4):
  """Zero-pad by `padding` pixels, take a random crop of the original size, mirror with
  probability 1/2: the authors' CIFAR-10 training augmentation (pad to 40, crop 32, flip;
  facts §3). A crop of the padded image is a shift by -padding..padding with zero fill."""
  batch = tf.shape(images)[0]
  shifts = tf.random.stateless_uniform([batch, 2], seed=seed, minval=-padding,
                                       maxval=padding + 1, dtype=tf.int32)
  flip = tf.random.stateless_uniform([batch], seed=tf.random.experimental.stateless_fold_in(
      seed, 1)) < 0.5
  return _shift_flip(images, tf.cast(shifts[:, 0], images.dtype),
                     tf.cast(shifts[:, 1], images.dtype), tf.cast(flip, images.dtype))


Variants = collections.namedtuple("Variants", "count ids apply")
"""An augmentation that takes finitely many forms: `count` of them, `ids(images, seed)` -> [B]
int32, the form each image of the batch gets under `seed` (the same draw as the augmentation),
and `apply(images, form)` -> every image in that form (a Python int; form 0 is the image
unchanged)."""


def finite_variants(augment_fn):
  """The forms of `augment_fn` when they are few (none: 1; mirroring: 2), else None.

  Why: a player that a game phase does not update gives the same logits to the same image in the
  same form, so they can be computed once per form instead of on every step
  (kdgan_tf/trainers/frozen_logits.py); continuous augmentations (random_affine, pad_crop_flip)
  have no such finite set."""
  if augment_fn is no_augment:
    return Variants(1, lambda images, seed: tf.zeros([tf.shape(images)[0]], tf.int32),
                    lambda images, form: images)
  if augment_fn is mirror:
    return Variants(2, lambda images, seed: tf.cast(mirror_flips(images, seed), tf.int32),
                    lambda images, form: mirrored(images) if form else images)
  return None
