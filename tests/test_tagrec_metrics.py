"""Tag-recommendation ranking measures on hand-computed rankings (kdgan_tf/tagrec/metrics.py)."""
import numpy as np
import pytest

from kdgan_tf.errors import UserError
from kdgan_tf.tagrec import metrics as tm
from kdgan_tf.tagrec.metrics import (average_precision, evaluate, f_measure_at,
                                     f_measure_authors_at, precision_at, r_precision,
                                     rank_tags, recall_at, reciprocal_rank)

# Image A: scores 0.9 0.1 0.5 0.3 -> order [0, 2, 3, 1]; true tags {1, 2}, |G| = 2
# rel by rank = [0, 1, 0, 1]; hits = [0, 1, 1, 2]
#   P@3 = 1/3, R@3 = 1/2, F@3 = 2 (1/3)(1/2) / (1/3 + 1/2) = (1/3) / (5/6) = 0.4
#   Rprec = hits(2)/2 = 1/2; AP = (1/2)(1/2 + 2/4) = 0.5; RR = 1/2
SCORES_A = [[0.9, 0.1, 0.5, 0.3]]
LABELS_A = [[0, 1, 1, 0]]

# Image B: 5 tags, scores descending -> order [0, 1, 2, 3, 4]; true tags {0, 2}, |G| = 2
# rel = [1, 0, 1, 0, 0]; hits = [1, 1, 2, 2, 2]
#   P@3 = 2/3, R@3 = 1, F@3 = 2 (2/3)(1) / (5/3) = 4/5
#   Rprec = hits(2)/2 = 1/2, F@3_authors = 2 (2/3)(1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
#   P@5 = 2/5, R@5 = 1, F@5 = 2 (2/5) / (7/5) = 4/7; F@5_authors = 2 (2/5)(1/2) / (9/10) = 4/9
#   AP = (1/2)(1/1 + 2/3) = 5/6; RR = 1
SCORES_B = [[0.9, 0.8, 0.7, 0.6, 0.5]]
LABELS_B = [[1, 0, 1, 0, 0]]


def test_hand_computed_ranking():
  assert rank_tags(SCORES_A).tolist() == [[0, 2, 3, 1]]
  assert precision_at(SCORES_A, LABELS_A, 3) == pytest.approx([1 / 3])
  assert recall_at(SCORES_A, LABELS_A, 3) == pytest.approx([1 / 2])
  assert f_measure_at(SCORES_A, LABELS_A, 3) == pytest.approx([0.4])
  assert r_precision(SCORES_A, LABELS_A) == pytest.approx([1 / 2])
  assert average_precision(SCORES_A, LABELS_A) == pytest.approx([0.5])
  assert reciprocal_rank(SCORES_A, LABELS_A) == pytest.approx([0.5])
  # P@4 = 2/4, R@4 = 2/2
  assert precision_at(SCORES_A, LABELS_A, 4) == pytest.approx([0.5])
  assert recall_at(SCORES_A, LABELS_A, 4) == pytest.approx([1.0])
  assert precision_at(SCORES_A, LABELS_A, 1) == pytest.approx([0.0])


def test_authors_f_measure_differs_from_true_f_when_g_is_not_n():
  # Image B, |G| = 2 != N = 3: R@3 = 1 but Rprec = 1/2.
  assert f_measure_at(SCORES_B, LABELS_B, 3) == pytest.approx([4 / 5])
  assert f_measure_authors_at(SCORES_B, LABELS_B, 3) == pytest.approx([4 / 7])
  assert f_measure_at(SCORES_B, LABELS_B, 5) == pytest.approx([4 / 7])
  assert f_measure_authors_at(SCORES_B, LABELS_B, 5) == pytest.approx([4 / 9])
  assert average_precision(SCORES_B, LABELS_B) == pytest.approx([5 / 6])
  assert reciprocal_rank(SCORES_B, LABELS_B) == pytest.approx([1.0])
  # With N = |G| = 2 the two agree: P@2 = 1/2, R@2 = Rprec = 1/2 -> both F = 1/2.
  assert f_measure_at(SCORES_B, LABELS_B, 2) == pytest.approx([0.5])
  assert f_measure_authors_at(SCORES_B, LABELS_B, 2) == pytest.approx([0.5])


def test_f_measures_are_zero_when_nothing_is_hit():
  # scores descending -> order [0, 1, 2]; true tag {2} at rank 3.
  # P@2 = 0, R@2 = 0 -> F@2 = 0; Rprec = hits(1)/1 = 0 -> F@2_authors = 0; AP = RR = 1/3.
  scores, labels = [[0.3, 0.2, 0.1]], [[0, 0, 1]]
  assert f_measure_at(scores, labels, 2).tolist() == [0.0]
  assert f_measure_authors_at(scores, labels, 2).tolist() == [0.0]
  assert average_precision(scores, labels) == pytest.approx([1 / 3])
  assert reciprocal_rank(scores, labels) == pytest.approx([1 / 3])


def test_ties_rank_the_lower_tag_index_first():
  # Tags 0 and 1 tie at 0.5 -> stable order [0, 1, 2]; the true tag 1 is at rank 2:
  # P@1 = 0, RR = 1/2, AP = (1/1)(1/2) = 1/2.
  scores, labels = [[0.5, 0.5, 0.2]], [[0, 1, 0]]
  assert rank_tags(scores).tolist() == [[0, 1, 2]]
  assert precision_at(scores, labels, 1).tolist() == [0.0]
  assert reciprocal_rank(scores, labels) == pytest.approx([0.5])
  assert average_precision(scores, labels) == pytest.approx([0.5])
  # Had the tie gone the other way (tag 1 first) the numbers would change: P@1 = 1, RR = AP = 1.
  swapped = [[0.5, 0.5 + 1e-9, 0.2]]
  assert rank_tags(swapped).tolist() == [[1, 0, 2]]
  assert precision_at(swapped, labels, 1).tolist() == [1.0]
  assert reciprocal_rank(swapped, labels) == pytest.approx([1.0])
  assert average_precision(swapped, labels) == pytest.approx([1.0])
  # Same tied scores, true tag 0 (the lower index) instead: it wins the tie, P@1 = 1.
  assert precision_at(scores, [[1, 0, 0]], 1).tolist() == [1.0]


def test_negative_zero_ties_with_zero_and_infinities_rank():
  assert rank_tags([[-0.0, 0.0, 0.0]]).tolist() == [[0, 1, 2]]
  assert rank_tags([[0.0, -0.0, 0.0]]).tolist() == [[0, 1, 2]]
  assert rank_tags([[0.0, np.inf, -np.inf, -1.0]]).tolist() == [[1, 0, 3, 2]]


def test_all_true_tags_first_gives_perfect_ap_and_rr():
  # order [0, 1, 3, 2]; true tags {0, 1} at ranks 1, 2: AP = (1/2)(1/1 + 2/2) = 1, RR = 1,
  # Rprec = 2/2 = 1, P@3 = 2/3, R@3 = 1.
  scores, labels = [[0.9, 0.8, 0.1, 0.2]], [[1, 1, 0, 0]]
  assert average_precision(scores, labels).tolist() == [1.0]
  assert reciprocal_rank(scores, labels).tolist() == [1.0]
  assert r_precision(scores, labels).tolist() == [1.0]
  assert precision_at(scores, labels, 3) == pytest.approx([2 / 3])
  assert recall_at(scores, labels, 3).tolist() == [1.0]


def test_evaluate_is_the_plain_mean_over_images_with_exact_keys():
  # Image A padded to 5 tags with a 0.0 score on a false tag 4: order [0, 2, 3, 1, 4],
  # rel = [0, 1, 0, 1, 0]: P@3 = 1/3, P@5 = 2/5, R@3 = 1/2, R@5 = 1, F@3 = 0.4,
  # F@5 = 2 (2/5)(1) / (7/5) = 4/7, Rprec = 1/2, F@3_authors = 0.4, F@5_authors = 4/9,
  # AP = 1/2, RR = 1/2.  Image B as above.
  scores = [SCORES_A[0] + [0.0], SCORES_B[0]]
  labels = [LABELS_A[0] + [0], LABELS_B[0]]
  result = evaluate(scores, labels)
  assert list(result) == ["P@3", "P@5", "R@3", "R@5", "F@3", "F@5", "F@3_authors",
                          "F@5_authors", "Rprec", "MAP", "MRR"]
  assert all(type(v) is float for v in result.values())
  expected = {
      "P@3": (1 / 3 + 2 / 3) / 2, "P@5": 2 / 5, "R@3": (1 / 2 + 1) / 2, "R@5": 1.0,
      "F@3": (0.4 + 0.8) / 2, "F@5": 4 / 7, "F@3_authors": (0.4 + 4 / 7) / 2,
      "F@5_authors": 4 / 9, "Rprec": 1 / 2, "MAP": (1 / 2 + 5 / 6) / 2, "MRR": (1 / 2 + 1) / 2,
  }
  assert result == pytest.approx(expected)
  assert set(tm.TABLE2_COLUMNS) <= set(result)
  assert set(tm.TABLE2_AUTHORS_COLUMNS) <= set(result)
  assert list(evaluate(scores, labels, cutoffs=(1,))) == [
      "P@1", "R@1", "F@1", "F@1_authors", "Rprec", "MAP", "MRR"]


def _loop_reference(scores, labels, n):
  """Per-image loops, written independently of the vectorised code."""
  out = {"P": [], "R": [], "AP": [], "RR": [], "Rprec": []}
  for s, y in zip(scores, labels):
    order = sorted(range(len(s)), key=lambda k: (-s[k], k))
    rel = [int(y[k]) for k in order]
    g = sum(rel)
    out["P"].append(sum(rel[:n]) / n)
    out["R"].append(sum(rel[:n]) / g)
    out["Rprec"].append(sum(rel[:g]) / g)
    out["AP"].append(sum(sum(rel[:i + 1]) / (i + 1) for i in range(len(rel)) if rel[i]) / g)
    out["RR"].append(1.0 / (rel.index(1) + 1))
  return {k: np.array(v) for k, v in out.items()}


def test_vectorised_matches_a_loop_on_random_data_with_ties():
  rng = np.random.RandomState(0)
  scores = rng.randint(0, 4, size=(30, 8)).astype(float)  # many ties
  labels = (rng.rand(30, 8) < 0.3).astype(int)
  labels[np.arange(30), rng.randint(0, 8, size=30)] = 1
  ref = _loop_reference(scores.tolist(), labels.tolist(), 3)
  np.testing.assert_allclose(precision_at(scores, labels, 3), ref["P"])
  np.testing.assert_allclose(recall_at(scores, labels, 3), ref["R"])
  np.testing.assert_allclose(r_precision(scores, labels), ref["Rprec"])
  np.testing.assert_allclose(average_precision(scores, labels), ref["AP"])
  np.testing.assert_allclose(reciprocal_rank(scores, labels), ref["RR"])


def test_image_without_tags_is_an_error_for_the_split_builder():
  with pytest.raises(UserError, match=r"2 of 3 test images have no true tag.*split builder"):
    evaluate([[0.1, 0.2, 0.3]] * 3, [[0, 0, 0], [1, 0, 0], [0, 0, 0]], cutoffs=(1,))
  assert issubclass(UserError, ValueError)


def test_nan_scores_are_an_error():
  with pytest.raises(ValueError, match="NaN"):
    rank_tags([[0.1, np.nan, 0.3]])
  with pytest.raises(ValueError, match="NaN"):
    evaluate([[0.1, np.nan, 0.3]], [[1, 0, 0]], cutoffs=(1,))


def test_cutoff_larger_than_k_is_an_error():
  with pytest.raises(ValueError, match="N=5 .* K=4"):
    precision_at(SCORES_A, LABELS_A, 5)
  with pytest.raises(ValueError, match="N=5 .* K=4"):
    evaluate(SCORES_A, LABELS_A)  # default cutoffs (3, 5)
  with pytest.raises(ValueError, match="N=0"):
    recall_at(SCORES_A, LABELS_A, 0)


def test_bad_shapes_and_labels_are_errors():
  with pytest.raises(ValueError, match="2-D"):
    rank_tags([0.1, 0.2])
  with pytest.raises(ValueError, match="shape"):
    average_precision(SCORES_A, [[0, 1, 1]])
  with pytest.raises(ValueError, match="0/1"):
    average_precision(SCORES_A, [[0, 2, 1, 0]])
