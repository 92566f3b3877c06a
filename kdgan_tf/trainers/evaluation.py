"""Which player the game evaluates on which split, and when (`EvaluationPolicy`), and the
evaluation itself (`PlayerEvaluator`: the task's measures of a player on a split).

Why a policy: on CIFAR-10 at small n one evaluation (validation 5,000 + test 10,000 images)
costs ten times a training epoch, and at n = 50,000 evaluating the 45,000 training images costs
more than validation and test together. Every saving here leaves the honest number unchanged:
the validation-selected epoch is still evaluated on the test split.
"""
import dataclasses
from typing import Optional

import numpy as np

from kdgan_tf import distribute
from kdgan_tf.data import pipeline
from kdgan_tf.data import views as views_lib
from kdgan_tf.errors import UserError
from kdgan_tf.trainers.compiled import split_scores_function

# Metric-name prefixes of the players that are ever evaluated (D never is).
PREFIX = {"classifier": "c", "teacher": "t"}

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


def distributed_eval_batches(strategy, base, n, batch_size):
  """`base` (n examples) in ordered batches for `strategy`, every example once, in order.

  Why padding: a last batch smaller than the replica count leaves a replica without examples,
  and the gather of scores across replicas aborts (shape mismatch). With several replicas the
  split is padded with copies of its first example up to a multiple of `batch_size`; callers
  keep the first n rows of what comes back. One replica reads the split as it is.
  """
  replicas = strategy.num_replicas_in_sync
  if replicas > 1:
    if batch_size < replicas:
      raise UserError(f"run_experiment.eval_batch_size = {batch_size} is smaller than the "
                      f"{replicas} replicas: raise it to at least {replicas}.")
    pad = (-n) % batch_size
    if pad:
      base = base.concatenate(base.take(1).repeat(pad))
  return distribute.distribute_dataset(strategy, pipeline.evaluation_batches(base, batch_size))


class PlayerEvaluator:
  """The task's measures of C and T (inference mode) on the training images, validation and
  test; one compiled scoring function per player, registered in `compiled` as "eval_<player>"
  (the run's record counts their traces)."""

  def __init__(self, strategy, splits, models, views, task, policy, eval_batch_size, compiled):
    self.strategy, self.models, self.views, self.task = strategy, models, views, task
    self.policy, self.compiled = policy, compiled
    train_subset = policy.train_indices(len(splits.train))
    evaluated = {name: splits.split(name) for name in ("train", "val", "test")}
    if train_subset is not None:
      evaluated["train"] = splits.train.take(train_subset)
    self._label_dtype = pipeline.base_dataset(splits.train).element_spec[1].dtype
    self._eval_sets = {
        name: (distributed_eval_batches(strategy, pipeline.base_dataset(split), len(split),
                                        eval_batch_size), len(split))
        for name, split in evaluated.items() if len(split)}

  def evaluate(self, player, split):
    """The task's measures of `player` on "train", "val" or "test", e.g. {"accuracy": ...} or
    {"P@3": ..., "MAP": ...}; None for an empty split."""
    if split not in self._eval_sets:
      return None
    name = f"eval_{player}"
    if name not in self.compiled:
      self.compiled[name] = split_scores_function(
          self.strategy, self.models[player], views_lib.selector(self.views[player]),
          self._label_dtype)
    dataset, n = self._eval_sets[split]
    scores, labels = self.compiled[name](dataset)
    return self.task.evaluate(scores.numpy()[:n], labels.numpy()[:n])

  def selection_value(self, measures):
    return None if measures is None else measures[self.task.selection_metric]

  def measures_record(self, player):
    """{"val_<metric>": ..., "test_<metric>": ...} of `player` now (pretraining summaries)."""
    record = {}
    for split in ("val", "test"):
      measures = self.evaluate(player, split)
      for metric in self.task.metric_names:
        record[f"{split}_{metric}"] = None if measures is None else measures[metric]
    return record

  def players_record(self, selected, trained_players, best_val, last_epoch, epoch=None):
    """{"<c|t>_<split>_<metric>": value or None} of the players evaluated at game epoch
    `epoch` (a fixed subset of the training images under `train_subset`).

    After pretraining (epoch None) every player on every split. In the game, as the policy
    says: the selected player at every evaluated epoch, other trained players every
    `partner_every` epochs and at the last one (a LeNet pass over 15k images costs as much as
    a KDGAN training pass at n = 100), frozen players never again; the test split at every
    evaluated epoch or only where the selected player's validation measure beats `best_val`.
    A split not evaluated is None in the record.
    """
    policy = self.policy
    players = [p for p in PREFIX if p in self.models and (
        epoch is None or p == selected or (
            p in trained_players and policy.evaluates_partner(epoch, last_epoch)))]
    measures = {(p, "val"): self.evaluate(p, "val") for p in players}
    val = self.selection_value(measures[(selected, "val")])
    with_test = policy.evaluates_test(epoch, last_epoch, val, best_val)
    record = {}
    for player in players:
      for split in ("train", "val", "test"):
        if split == "test" and not with_test:
          result = None
        else:
          result = measures.get((player, split)) or self.evaluate(player, split)
        for metric in self.task.metric_names:
          value = None if result is None else result[metric]
          record[f"{PREFIX[player]}_{split}_{metric}"] = value
    return record
