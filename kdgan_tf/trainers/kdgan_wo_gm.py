"""KDGAN-WO-GM: KDGAN without the Gumbel-max / concrete relaxation (the paper's ablation,
section 4.1): the same three-player game, with C's and T's adversarial gradients given by the
plain score-function (REINFORCE) estimator on the categorical p(y|x). Every other setting is
KDGAN's, so the two differ only in the estimator.
"""
import gin

from kdgan_tf.estimators import reinforce
from kdgan_tf.trainers.kdgan import KDGAN


@gin.configurable
class KDGANWithoutGM(KDGAN):
  name = "kdgan_wo_gm"

  def __init__(self, estimator=reinforce, **kwargs):
    super().__init__(estimator=estimator, **kwargs)
