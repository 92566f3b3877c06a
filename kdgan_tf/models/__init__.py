"""Keras model builders for the three players (image classification: mlp, lenet; tag
recommendation with privileged views: tagrec). Each builder is gin-configurable, so a new
dataset binds its own builders (e.g. `run_experiment.classifier_builder = @mlp_classifier`)."""
from kdgan_tf.models.lenet import lenet
from kdgan_tf.models.mlp import mlp_classifier
from kdgan_tf.models.tagrec import concat_linear_scorer, privileged_scorer
