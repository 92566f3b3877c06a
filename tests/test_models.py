"""The players' architectures match the authors' code (parameter counts) and D's pair scores."""
import numpy as np
import tensorflow as tf

from kdgan_tf.losses import pair_score
from kdgan_tf.models import lenet, mlp_classifier


def test_classifier_has_the_authors_parameter_count():
  assert mlp_classifier((28, 28, 1), 10).count_params() == 1_276_810


def test_teacher_and_discriminator_have_the_authors_parameter_count():
  t, d = lenet((28, 28, 1), 10, name="teacher"), lenet((28, 28, 1), 10, name="discriminator")
  assert t.count_params() == d.count_params() == 3_274_634
  # Separate weights: two instances share no variable.
  assert not {id(v) for v in t.trainable_variables} & {id(v) for v in d.trainable_variables}


def test_weight_decay_uses_the_authors_half_squared_norm_convention():
  model = mlp_classifier((2, 2, 1), 3, hidden_units=(), weight_decay=4e-5)
  kernel, bias = model.trainable_variables
  kernel.assign(np.ones((4, 3), np.float32))
  bias.assign(np.full((3,), 2.0, np.float32))
  expected = 4e-5 * 0.5 * (12 * 1.0 + 3 * 4.0)  # 4e-5 * 1/2 * (||W||^2 + ||b||^2)
  np.testing.assert_allclose(float(tf.add_n(model.losses)), expected, rtol=1e-5)


def test_discriminator_scores_a_label_by_its_logit_and_a_soft_label_by_the_mixture():
  d = lenet((28, 28, 1), 10, filters=(2, 2), dense_units=8)
  logits = d(tf.random.uniform([3, 28, 28, 1], seed=1), training=False)
  onehot = tf.one_hot([4, 0, 9], 10)
  np.testing.assert_allclose(pair_score(logits, onehot).numpy(),
                             tf.gather(logits, [4, 0, 9], axis=1, batch_dims=0).numpy()
                             .diagonal(), rtol=1e-6)
  soft = tf.fill([3, 10], 0.1)
  np.testing.assert_allclose(pair_score(logits, soft).numpy(),
                             0.1 * tf.reduce_sum(logits, -1).numpy(), rtol=1e-5)
