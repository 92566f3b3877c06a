"""The baseline evaluation command: search-space expansion, validation selection, outputs."""
import csv
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from kdgan_tf.errors import UserError
from kdgan_tf.tagrec import evaluate
from tagrec_fixtures import write_corel_like_npz


def test_grid_points_is_a_fixed_order_cartesian_product():
  assert evaluate.grid_points({"k": [5, 1], "b": [True, False]}) == [
      {"b": True, "k": 5}, {"b": True, "k": 1}, {"b": False, "k": 5}, {"b": False, "k": 1}]
  assert evaluate.grid_points(None) == [{}]
  with pytest.raises(UserError, match="non-empty list"):
    evaluate.grid_points({"k": []})


def test_selection_takes_the_best_validation_value_and_the_earliest_on_ties():
  results = [{"P@3": 0.2}, {"P@3": 0.5}, {"P@3": 0.5}, {"P@3": 0.1}]
  assert evaluate.select_best(results, "P@3") == 1
  assert evaluate.select_best([{"MAP": 0.3}, {"MAP": 0.4}], "MAP") == 1
  # The same mean summed in another order differs in the last bits: still a tie.
  near = [{"P@3": 322 / 1500}, {"P@3": 322 / 1500 + 2e-16}]
  assert evaluate.select_best(near, "P@3") == 0


def test_selection_never_looks_at_the_test_split(tmp_path):
  """Two points; the test split prefers one, validation the other: validation decides."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from kdgan_tf.data.splits import DataSplits, Split  # pylint: disable=g-import-not-at-top

  class Constant:
    """Scores every image with a fixed tag order given by `order`."""

    def __init__(self, order=(0, 1, 0, 0, 0, 0)):
      self.order = order

    def fit(self, x, y):
      return self

    def score(self, x):
      return np.tile(np.asarray(self.order, float), (len(x), 1))

  x = np.zeros((4, 2), np.float32)
  val = Split({"image": x}, np.array([[1, 0, 0, 0, 0, 0]] * 4, np.uint8))
  test = Split({"image": x}, np.array([[0, 1, 0, 0, 0, 0]] * 4, np.uint8))
  splits = DataSplits(val, val, test, 6, "toy", list("abcdef"))
  old = dict(evaluate.BASELINES)
  evaluate.BASELINES["const"] = "x:y"
  original = evaluate.baseline_class
  evaluate.baseline_class = lambda name: Constant
  try:
    _, search, rows = evaluate.evaluate_baselines(
        dataset_fn=lambda: splits, search_spaces={"const": {"order": [(0, 1, 0, 0, 0, 0), (1, 0, 0, 0, 0, 0)]}},
        selection_metric="MRR", methods=["const"], log=lambda m: None)
  finally:
    evaluate.baseline_class = original
    evaluate.BASELINES.clear()
    evaluate.BASELINES.update(old)
  assert len(search) == 2 and rows[0]["params"] == json.dumps({"order": [1, 0, 0, 0, 0, 0]})
  # Validation (tag a relevant) picks the point scoring a first; on test (tag b relevant) it
  # ranks b second, MRR 1/2, though the other point would have scored 1.
  assert rows[0]["MRR"] == pytest.approx(0.5)


def test_command_end_to_end_on_generated_corel_data(tmp_path):
  path = write_corel_like_npz(str(tmp_path / "corel.npz"), train=90, test=20, features=12)
  out = str(tmp_path / "out")
  args = [sys.executable, "-m", "kdgan_tf.tagrec.evaluate", "--gin_file=corel5k.gin",
          "--gin_file=tagrec_baselines.gin", "--methods=knn", f"--output_dir={out}",
          f"--gin_bindings=load_corel5k.path = '{path}'",
          "--gin_bindings=load_corel5k.validation_size = 20",
          "--gin_bindings=evaluate_baselines.search_spaces = {'knn': {'k': [3, 6]}}"]
  result = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=REPO)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "| knn |" in result.stdout
  with open(os.path.join(out, "table2.csv")) as f:
    rows = list(csv.DictReader(f))
  assert [r["method"] for r in rows] == ["knn"]
  assert float(rows[0]["P@3"]) > 0.6  # tags are determined by the cluster column
  with open(os.path.join(out, "search.csv")) as f:
    assert len(list(csv.DictReader(f))) == 2
  record = json.load(open(os.path.join(out, "table2.json")))
  assert record["dataset"]["sizes"] == {"train": 70, "val": 20, "test": 20}
  missing = subprocess.run(args[:-3] + ["--gin_bindings=load_corel5k.path = '/no/such.npz'"],
                           capture_output=True, text=True, timeout=300, cwd=REPO)
  assert missing.returncode == 2 and "load_corel5k.path" in missing.stderr
  assert "Traceback" not in missing.stderr


def test_setting_mistakes_are_one_sentence_before_any_fitting(tmp_path):
  from kdgan_tf.data.corel5k import load_corel5k  # pylint: disable=g-import-not-at-top
  path = write_corel_like_npz(str(tmp_path / "corel.npz"), train=60, test=10, features=12)
  data = lambda: load_corel5k(path=path, validation_size=10)
  quiet = lambda m: None
  with pytest.raises(UserError, match="selection_metric"):
    evaluate.evaluate_baselines(dataset_fn=data, selection_metric="map", methods=["knn"],
                                log=quiet)
  with pytest.raises(UserError, match=r"names \['K'\]"):
    evaluate.evaluate_baselines(dataset_fn=data, search_spaces={"knn": {"K": [3]}},
                                methods=["knn"], log=quiet)
  with pytest.raises(UserError, match="knn with {'k': 100}: .*exceeds the 50 training"):
    evaluate.evaluate_baselines(dataset_fn=data, search_spaces={"knn": {"k": [100]}},
                                methods=["knn"], log=quiet)
