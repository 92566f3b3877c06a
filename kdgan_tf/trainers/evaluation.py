"""Which player the game evaluates on which split, and when.

Why a policy: on CIFAR-10 at small n one evaluation (validation 5,000 + test 10,000 images)
costs ten times a training epoch, and at n = 50,000 evaluating the 45,000 training images costs
more than validation and test together. Every saving here leaves the honest number unchanged:
the validation-selected epoch is still evaluated on the test split.
"""
import dataclasses
from typing import Optional

import numpy as np

from kdgan_tf.errors import UserError

TEST_WHEN = ("every_evaluation", "validation_improves")


@dataclasses.dataclass(frozen=True)
class EvaluationPolicy:
  """every: evaluate every this many game epochs (and at the last one).
  partner_every: players other than the selected one (T in KDGAN), every this many epochs.
  test_when: "every_evaluation", or "validation_improves": the test split only where the
    selected player's validation measure beats every earlier epoch (the epoch the honest
    protocol can select), at the last epoch and before the game. The authors' protocol (best
    test over the game) needs "every_evaluation".
  train_subset: evaluate the "train" split (a diagnostic: does C fit its images?) on this many
    of the training images, drawn once with a fixed seed; None: all of them.
  """
  every: int = 1
  partner_every: int = 5
  test_when: str = "every_evaluation"
  train_subset: Optional[int] = None

  def __post_init__(self):
    if self.test_when not in TEST_WHEN:
      raise UserError(f"run_experiment.evaluate_test = {self.test_when!r}: use one of "
                      f"{', '.join(map(repr, TEST_WHEN))}.")
    if int(self.every) < 1 or int(self.partner_every) < 1:
      raise UserError("run_experiment.eval_every and partner_eval_every must be >= 1.")
    if self.train_subset is not None and int(self.train_subset) < 1:
      raise UserError("run_experiment.train_eval_size must be a positive number of images or "
                      "None (all).")

  def evaluates(self, epoch, last_epoch):
    """Whether game epoch `epoch` (1-based) is evaluated at all."""
    return epoch % self.every == 0 or epoch == last_epoch

  def evaluates_partner(self, epoch, last_epoch):
    """Whether a trained non-selected player is evaluated at an evaluated epoch."""
    return epoch % self.partner_every == 0 or epoch == last_epoch

  def evaluates_test(self, epoch, last_epoch, val, best_val):
    """Whether the test split is evaluated at game epoch `epoch` (None: before the game), given
    the selected player's validation measure now and the best one of earlier epochs."""
    if self.test_when == "every_evaluation" or epoch is None or epoch == last_epoch:
      return True
    return val is None or val > best_val

  def train_indices(self, n):
    """Sorted indices of the training images the "train" split is evaluated on, or None (all)."""
    if self.train_subset is None or int(self.train_subset) >= n:
      return None
    return np.sort(np.random.RandomState(0).choice(n, int(self.train_subset), replace=False))

  def describe(self):
    """The record's note of what was evaluated (so reports can say what a number is)."""
    return dataclasses.asdict(self)
