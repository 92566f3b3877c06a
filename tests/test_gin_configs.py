"""Every shipped gin file parses against the real configurables (catches misspelt bindings)."""
import glob
import os

import gin
import pytest

from conftest import REPO
from kdgan_tf.train import parse_config

# Tag recommendation (kdgan_tf/tagrec/evaluate.py) composes a dataset file with the baselines.
TAGREC_DATASETS = ("corel5k.gin", "yfcc100m.gin")
TAGREC = TAGREC_DATASETS + ("tagrec_baselines.gin",)
CONFIGS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REPO, "gin_configs",
                                                                       "*.gin"))
                 if os.path.basename(p) not in TAGREC)


@pytest.mark.parametrize("dataset", TAGREC_DATASETS)
def test_tag_recommendation_gin_files_parse(dataset):
  from kdgan_tf.tagrec import evaluate  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  try:
    evaluate._parse([dataset, "tagrec_baselines.gin"], [])  # pylint: disable=protected-access
    spaces = gin.query_parameter("evaluate_baselines.search_spaces")
    assert set(spaces) == set(evaluate.BASELINES)
    assert gin.query_parameter("evaluate_baselines.selection_metric") == "P@3"
  finally:
    gin.clear_config()


@pytest.mark.parametrize("name", CONFIGS)
def test_gin_file_parses_on_top_of_mnist(name):
  gin.clear_config()
  try:
    parse_config(["mnist.gin", name], [])
    # Each binding names a real parameter: querying it must not raise.
    assert gin.query_parameter("run_experiment.batch_size") > 0
  finally:
    gin.clear_config()


def test_mnist_gin_binds_the_paper_schedule_and_l2_distillation():
  gin.clear_config()
  try:
    parse_config(["mnist.gin"], [])
    assert gin.query_parameter("exponential_tau.tau_start") == 1.0
    assert gin.query_parameter("exponential_tau.tau_end") == 0.1
    assert gin.query_parameter("load_image_classification.n") == 100
    assert gin.query_parameter("KDGAN.distill_loss").selector == "l2_logits"
  finally:
    gin.clear_config()
