"""The evaluation policy saves evaluation without changing the honest (validation-selected)
number: the selected epoch is always evaluated on the test split."""
import gin
import numpy as np
import pytest

from conftest import TINY_GIN
from kdgan_tf import experiment
from kdgan_tf.errors import UserError
from kdgan_tf.train import parse_config
from kdgan_tf.trainers.evaluation import EvaluationPolicy


def test_test_split_only_where_validation_improves():
  policy = EvaluationPolicy(test_when="validation_improves")
  assert policy.evaluates_test(None, 10, 0.1, 0.9)      # before the game: always
  assert policy.evaluates_test(10, 10, 0.1, 0.9)        # the last epoch: always
  assert policy.evaluates_test(3, 10, 0.5, 0.4)         # improves
  assert not policy.evaluates_test(3, 10, 0.4, 0.4)     # a tie is not selected (earliest wins)
  assert not policy.evaluates_test(3, 10, 0.3, 0.4)
  assert policy.evaluates_test(3, 10, None, 0.4)        # no validation split: keep test
  assert EvaluationPolicy().evaluates_test(3, 10, 0.3, 0.4)


def test_cadence_and_train_subset():
  policy = EvaluationPolicy(every=3, partner_every=6, train_subset=4)
  assert [e for e in range(1, 11) if policy.evaluates(e, 10)] == [3, 6, 9, 10]
  assert [e for e in range(1, 11) if policy.evaluates_partner(e, 10)] == [6, 10]
  index = policy.train_indices(10)
  assert len(index) == 4 and len(set(index)) == 4 and list(index) == sorted(index)
  assert np.array_equal(index, policy.train_indices(10))  # fixed, whatever the run's seed
  assert policy.train_indices(4) is None and EvaluationPolicy().train_indices(10) is None


@pytest.mark.parametrize("bad", [dict(test_when="sometimes"), dict(every=0),
                                 dict(train_subset=0)])
def test_bad_policy_is_one_sentence(bad):
  with pytest.raises(UserError):
    EvaluationPolicy(**bad)


def _run(model_dir, npz, *bindings):
  gin.clear_config()
  try:
    parse_config([TINY_GIN, "supervised_c.gin"], [
        f"load_image_classification.original_order_npz = '{npz}'",
        "run_experiment.game_epochs = 4",
        # a game that barely moves C: validation ties after epoch 1, so tests are saved
        "classifier/player_settings.game_learning_rate = 1e-7", *bindings])
    return experiment.run_experiment(str(model_dir), log=lambda message: None)
  finally:
    gin.clear_config()


def test_validation_improves_keeps_the_selected_number(tmp_path, tiny_npz):
  """Same seed, both policies: identical selected epoch and test accuracy; the saving run has
  no test number exactly at the epochs whose validation accuracy did not improve."""
  every = _run(tmp_path / "every", tiny_npz)
  saving = _run(tmp_path / "saving", tiny_npz, 'run_experiment.evaluate_test = "validation_improves"',
                "run_experiment.train_eval_size = 8")
  assert saving["game"]["selected"] == every["game"]["selected"]
  best = -1.0  # the game selects among its own epochs
  for full, cheap in zip(every["game"]["epochs"], saving["game"]["epochs"]):
    assert cheap["c_val_accuracy"] == full["c_val_accuracy"]
    improved = full["c_val_accuracy"] > best or full["epoch"] == 4
    best = max(best, full["c_val_accuracy"])
    assert (cheap["c_test_accuracy"] is not None) == improved
    if improved:
      assert cheap["c_test_accuracy"] == full["c_test_accuracy"]
  assert any(e["c_test_accuracy"] is None for e in saving["game"]["epochs"])  # something saved
  assert saving["evaluation"]["test_when"] == "validation_improves"
  assert saving["evaluation"]["train_subset"] == 8
