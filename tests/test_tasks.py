"""The task objects against hand computations, the views per player, and the tag players."""
import math

import numpy as np
import pytest
import tensorflow as tf

from kdgan_tf.data import views
from kdgan_tf.data.splits import DataSplits, Split
from kdgan_tf.errors import UserError
from kdgan_tf.models import concat_linear_scorer, mlp_classifier, privileged_scorer
from kdgan_tf.tagrec import metrics as tag_metrics
from kdgan_tf.tasks import MultiLabel, SingleLabel

LOGITS = [[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]


def _log_softmax(row):
  m = max(row)
  return [x - m - math.log(sum(math.exp(y - m) for y in row)) for x in row]


def test_single_label_loss_true_pairs_and_accuracy():
  task = SingleLabel(3)
  loss = task.supervised_loss(tf.constant([1, 0]), tf.constant(LOGITS)).numpy()
  np.testing.assert_allclose(loss, [-_log_softmax(LOGITS[0])[1], -_log_softmax(LOGITS[1])[0]],
                             rtol=1e-6)
  np.testing.assert_array_equal(task.sample_true(tf.constant([2, 0]), [0, 1]).numpy(),
                                [[0, 0, 1], [1, 0, 0]])
  assert task.evaluate(np.array(LOGITS), np.array([1, 0])) == {"accuracy": 0.5}


def test_multi_label_loss_is_cross_entropy_against_the_normalised_tags():
  task = MultiLabel(3)
  labels = tf.constant([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
  loss = task.supervised_loss(labels, tf.constant(LOGITS)).numpy()
  first = -0.5 * (_log_softmax(LOGITS[0])[0] + _log_softmax(LOGITS[0])[1])
  np.testing.assert_allclose(loss, [first, -_log_softmax(LOGITS[1])[2]], rtol=1e-6)
  np.testing.assert_allclose(task.true_distribution(labels).numpy(),
                             [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])


def test_multi_label_true_pairs_are_uniform_over_the_true_tags():
  """D's positives y ~ p_u(y|x): an image with tags {0, 2, 3} of 5 gets each a third of the
  time and never tags 1 or 4."""
  task = MultiLabel(5)
  labels = tf.constant([[1.0, 0.0, 1.0, 1.0, 0.0]] * 3000)
  draws = task.sample_true(labels, tf.constant([3, 4])).numpy()
  assert draws.shape == (3000, 5) and (draws.sum(axis=1) == 1).all()
  frequencies = draws.mean(axis=0)
  assert frequencies[1] == frequencies[4] == 0.0
  np.testing.assert_allclose(frequencies[[0, 2, 3]], 1 / 3, atol=0.03)
  again = task.sample_true(labels, tf.constant([3, 4])).numpy()
  np.testing.assert_array_equal(draws, again)  # stateless: a resumed run draws the same


def test_multi_label_measures_are_the_tag_metrics_module():
  rng = np.random.RandomState(0)
  scores = rng.rand(20, 7)
  labels = (rng.rand(20, 7) < 0.3).astype(np.uint8)
  labels[:, 0] = 1
  measures = MultiLabel(7).evaluate(scores, labels)
  reference = tag_metrics.evaluate(scores, labels)
  assert set(measures) == {"P@3", "P@5", "F@3", "F@5", "F@3_authors", "F@5_authors", "MAP",
                           "MRR"}
  assert all(measures[k] == reference[k] for k in measures)
  with pytest.raises(UserError, match="selection_metric"):
    MultiLabel(7, selection_metric="accuracy")


def _splits():
  n = 4
  split = Split({"image": np.zeros((n, 3), np.float32), "text": np.ones((n, 5), np.int32)},
                np.eye(4, dtype=np.uint8)[:n])
  return DataSplits(split, split, split, 4, "toy", vocabularies={"text": list("abcdefg")})


def test_player_views_default_to_image_for_the_classifier_and_everything_for_the_others():
  out = views.player_views(_splits(), ("classifier", "teacher", "discriminator"))
  assert out == {"classifier": ("image",), "teacher": ("image", "text"),
                 "discriminator": ("image", "text")}
  with pytest.raises(UserError, match="exactly one view"):
    views.player_views(_splits(), ("classifier",), {"classifier": ("image", "text")})
  with pytest.raises(UserError, match="has \\['image', 'text'\\]"):
    views.player_views(_splits(), ("teacher",), {"teacher": ("image", "words")})
  kwargs = views.builder_inputs(_splits(), ("image", "text"))
  assert kwargs == {"input_shape": {"image": (3,), "text": (5,)},
                    "vocabulary_sizes": {"text": 7}}
  assert views.builder_inputs(_splits(), ("image",)) == {"input_shape": (3,)}


def test_tag_players_have_the_expected_parameter_counts():
  # C: 250 -> 800 -> 800 -> 374 (paper 4.2: a 2 x 800 MLP on the image features).
  assert mlp_classifier((250,), 374).count_params() == (
      250 * 800 + 800 + 800 * 800 + 800 + 800 * 374 + 374)
  # T/D on a float privileged view: image 250 -> 100, privileged 249 -> 100, product,
  # 100 -> 800 -> 374.
  float_scorer = privileged_scorer({"image": (250,), "privileged": (249,)}, 374,
                                   hidden_units=(800,))
  assert float_scorer.count_params() == (250 * 100 + 100 + 249 * 100 + 100 + 100 * 800 + 800
                                         + 800 * 374 + 374)
  # On token ids: embeddings V x 100 and an LSTM(100) (4 gates x (100 in + 100 rec + 1) x 100).
  text_scorer = privileged_scorer({"image": (4096,), "text": (20,)}, 200,
                                  vocabulary_sizes={"text": 500}, hidden_units=())
  assert text_scorer.count_params() == (4096 * 100 + 100 + 500 * 100 + 4 * (200 + 1) * 100
                                        + 100 * 200 + 200)
  out = text_scorer({"image": tf.zeros([2, 4096]), "text": tf.zeros([2, 20], tf.int32)})
  assert out.shape == (2, 200)
  # The authors' variant: linear on image (+ mean of 10-D embeddings, no bias on that part).
  assert concat_linear_scorer((4096,), 100).count_params() == 409_700  # facts 5.2
  authors_t = concat_linear_scorer({"image": (4096,), "text": (20,)}, 100,
                                   vocabulary_sizes={"text": 6936})
  assert authors_t.count_params() == 409_700 + 6936 * 10 + 10 * 100


def test_embedding_file_loads_the_users_vectors(tmp_path):
  matrix = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
  path = str(tmp_path / "vectors.npy")
  np.save(path, matrix)
  model = privileged_scorer({"image": (3,), "text": (5,)}, 4, vocabulary_sizes={"text": 7},
                            embedding_file=path, hidden_units=())
  layer = next(l for l in model.layers if l.name.endswith("_embedding"))
  np.testing.assert_array_equal(layer.get_weights()[0], matrix)
  with pytest.raises(UserError, match="privileged_scorer.embedding_file"):
    privileged_scorer({"image": (3,), "text": (5,)}, 4, vocabulary_sizes={"text": 8},
                      embedding_file=path)
