"""Samplers and gradient estimators for the adversarial term of a label generator (C or T)."""
from kdgan_tf.estimators.concrete import gumbel_softmax_sample, sample_labels
from kdgan_tf.estimators.gradient_estimators import (EstimatorOutput, concrete_pathwise,
                                                     concrete_score, reinforce)
