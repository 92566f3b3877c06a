"""KNN: neighbour voting for tag relevance (Li, Snoek and Worring, "Learning social tag
relevance by neighbor voting", IEEE TMM 2009).

A tag's score for an image is how many of the image's k visual nearest neighbours in the
training set carry it, minus its expected count under the tag's prior:

    score(x, t) = |{j in N_k(x) : t in tags(j)}| - k * n_t / N,

with n_t the number of training images tagged t and N the training-set size. Neighbours are
by cosine similarity (the authors' toolkit, `../shared/reference/tagrec-baselines-facts.md` §0,
§1), ties in similarity broken by the lower training index.

Choices and deviations, written down:
  * `subtract_prior=True` is TagVote's score; `subtract_prior=False` is the plain count that the
    authors' toolkit actually ran as "KNN" (`PreKnnTagger`, facts §1). The prior only shifts each
    tag's score by a constant, so it changes rankings between tags (and hence every measure).
  * TagVote's unique-user rule (at most one vote per photo owner) needs owner ids, which the
    interface does not carry; it is not applied (the authors' KNN run did not apply it either).
  * Votes are integers minus a constant per tag, so ties are common; they are ranked by tag index
    (kdgan_tf/tagrec/metrics.py), as documented there.
  * k is searched on the validation split (gin_configs/tagrec_baselines.gin).
"""
import gin
import numpy as np

from kdgan_tf.errors import UserError
from kdgan_tf.tagrec.base import TagRecommender, cosine_neighbours


@gin.configurable
class NeighbourVoting(TagRecommender):
  """TagVote / KNN tag relevance by the votes of the k nearest training images."""

  name = "knn"

  def __init__(self, k=100, subtract_prior=True):
    if int(k) <= 0:
      raise UserError(f"NeighbourVoting.k must be positive, got {k}.")
    self.k, self.subtract_prior = int(k), bool(subtract_prior)

  def fit(self, x, y):
    if self.k > len(y):
      raise UserError(f"NeighbourVoting.k = {self.k} exceeds the {len(y)} training images.")
    self.x_train = np.asarray(x, dtype=np.float64)
    self.y_train = np.asarray(y, dtype=np.float64)
    self.prior = self.y_train.mean(axis=0)  # n_t / N
    return self

  def score(self, x):
    index, _ = cosine_neighbours(x, self.x_train, self.k)
    votes = np.zeros((len(index), self.y_train.shape[1]))
    for j in range(self.k):  # accumulate rank by rank: never an M x k x K tensor
      votes += self.y_train[index[:, j]]
    if self.subtract_prior:
      votes -= self.k * self.prior
    return votes
