"""Variance of the three gradient estimators on a small fixed problem, as ratios to REINFORCE.

One generator row (K classes, fixed logits) against fixed discriminator logits; each estimator
draws S labels per example for B independent examples (identical rows), and we measure the
per-coordinate variance of the per-example gradient w.r.t. the logits, summed over coordinates,
plus the bias against the exact gradient of E_{y~p}[log(1 - sigmoid(g_y))].

  python benchmarks/estimator_variance.py [--samples 1] [--rows 4000]
"""
import argparse

import kdgan_tf  # noqa: F401
import numpy as np
import tensorflow as tf

from kdgan_tf.estimators import concrete_pathwise, concrete_score, reinforce

GEN_LOGITS = np.array([1.0, 0.2, -0.5, 0.3, -1.0], np.float32)
D_LOGITS = np.array([2.0, -1.0, 0.5, -0.3, 1.2], np.float32)


def exact_gradient():
  p = np.exp(GEN_LOGITS - GEN_LOGITS.max())
  p /= p.sum()
  reward = -np.log1p(np.exp(D_LOGITS))
  return sum(p[y] * reward[y] * (np.eye(len(p))[y] - p) for y in range(len(p)))


def per_example_gradients(estimator, tau, rows, samples, seed):
  logits = tf.constant(np.tile(GEN_LOGITS, (rows, 1)))
  d_logits = tf.constant(np.tile(D_LOGITS, (rows, 1)))
  with tf.GradientTape() as tape:
    tape.watch(logits)
    out = estimator(logits, d_logits, tf.constant(tau), tf.constant(seed), num_samples=samples)
    total = tf.reduce_sum(out.surrogate)
  return tape.gradient(total, logits).numpy()  # rows are independent: row i = example i


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--samples", type=int, default=1)
  parser.add_argument("--rows", type=int, default=4000)
  args = parser.parse_args()
  exact = exact_gradient()
  print(f"K={len(GEN_LOGITS)} samples/example={args.samples} examples={args.rows}")
  print(f"{'estimator':<20}{'tau':>6}{'variance':>12}{'ratio to REINFORCE':>20}{'|bias|':>10}")
  base = None
  for tau in (1.0, 0.5, 0.1):
    for name, fn in (("reinforce", reinforce), ("concrete_score", concrete_score),
                     ("concrete_pathwise", concrete_pathwise)):
      grads = per_example_gradients(fn, tau, args.rows, args.samples, [7, int(tau * 100)])
      variance = float(grads.var(axis=0).sum())
      if name == "reinforce":
        base = variance
      bias = float(np.linalg.norm(grads.mean(axis=0) - exact))
      print(f"{name:<20}{tau:>6.2f}{variance:>12.5f}{variance / base:>20.3f}{bias:>10.4f}")


if __name__ == "__main__":
  main()
