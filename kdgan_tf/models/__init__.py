"""Keras model builders for the three players. Each builder is gin-configurable, so a new
dataset binds its own builders (e.g. `run_experiment.classifier_builder = @mlp_classifier`)."""
from kdgan_tf.models.lenet import lenet
from kdgan_tf.models.mlp import mlp_classifier
