"""Run summaries on hand-made histories: the honest, last-epoch and authors' numbers."""
import pytest

from kdgan_tf.errors import UserError
from kdgan_tf.experiment import _check_init_from
from kdgan_tf.metrics import select_epoch, summarize_game
from kdgan_tf.outputs import write_json

HISTORY = [
    {"epoch": 1, "c_val_accuracy": 0.70, "c_test_accuracy": 0.69},
    {"epoch": 2, "c_val_accuracy": 0.75, "c_test_accuracy": 0.72},
    {"epoch": 3, "c_val_accuracy": 0.75, "c_test_accuracy": 0.78},  # tie on val: not chosen
    {"epoch": 4, "c_val_accuracy": 0.74, "c_test_accuracy": 0.73},
]


def test_selection_uses_validation_and_the_earliest_tie():
  summary = summarize_game(HISTORY)
  assert summary["selected"]["epoch"] == 2
  assert summary["selected"]["test_accuracy"] == 0.72
  assert summary["last"] == {"epoch": 4, "val_accuracy": 0.74, "test_accuracy": 0.73}


def test_authors_protocol_is_the_best_test_accuracy_and_is_labelled():
  summary = summarize_game(HISTORY)
  assert summary["authors_protocol"]["epoch"] == 3
  assert summary["authors_protocol"]["test_accuracy"] == 0.78
  assert "TEST" in summary["authors_protocol"]["rule"]


def test_without_a_validation_split_the_last_epoch_is_reported():
  history = [{"epoch": e, "c_val_accuracy": None, "c_test_accuracy": t}
             for e, t in ((1, 0.5), (2, 0.7), (3, 0.6))]
  summary = summarize_game(history)
  assert summary["selected"]["epoch"] == 3 and "no validation" in summary["selected"]["rule"]
  assert summary["authors_protocol"]["epoch"] == 2


def test_select_epoch_skips_missing_values_and_handles_empty():
  assert select_epoch([], "x") is None
  assert select_epoch([{"epoch": 1, "x": None}, {"epoch": 2, "x": 0.1}], "x")["epoch"] == 2
  assert summarize_game([]) == {}


def test_init_from_refuses_another_seed_or_other_data(tmp_path):
  write_json(str(tmp_path / "metrics.json"), {"seed": 0, "data_fingerprint": "abc"})
  _check_init_from(str(tmp_path), 0, "abc")  # same data and seed: fine
  with pytest.raises(UserError, match="seed"):
    _check_init_from(str(tmp_path), 1, "abc")
  with pytest.raises(UserError, match="data_fingerprint"):
    _check_init_from(str(tmp_path), 0, "other")
  with pytest.raises(UserError, match="no metrics.json"):
    _check_init_from(str(tmp_path / "missing"), 0, "abc")


def test_summarize_rows_and_mean_std():
  from kdgan_tf.summarize import mean_std, run_row  # pylint: disable=g-import-not-at-top
  record = {"game": {"pretrained": {"c_test_accuracy": 0.7, "t_test_accuracy": 0.8},
                     "selected": {"epoch": 2, "test_accuracy": 0.72},
                     "last": {"test_accuracy": 0.73},
                     "authors_protocol": {"test_accuracy": 0.78},
                     "epochs": [{"seconds": 3.0}, {"seconds": 5.0}, {"seconds": 4.0}]}}
  row = run_row(record)
  assert row["selected (val)"] == 0.72 and row["best test [authors]"] == 0.78
  assert row["s/epoch"] == 4.0
  mean, std = mean_std([0.7, 0.8, None])
  assert mean == pytest.approx(0.75) and std == pytest.approx(0.0707106781)
  assert mean_std([None]) == (None, None) and mean_std([0.5]) == (0.5, 0.0)


def _record(method, seed, test, best, selected_player="classifier", pretrained=0.7):
  prefix = "t" if selected_player == "teacher" else "c"
  return {"dataset": "mnist", "n": 100, "method": method, "seed": seed, "finished": True,
          "selected_player": selected_player,
          "pretrain": {"classifier": {"seconds": 10.0}},
          "game": {"pretrained": {f"{prefix}_test_accuracy": pretrained},
                   "selected": {"test_accuracy": test},
                   "authors_protocol": {"test_accuracy": best},
                   "epochs": [{"seconds": 2.0}, {"seconds": 3.0}]}}


def test_method_table_groups_seeds_and_sits_beside_the_paper():
  from kdgan_tf.summarize import method_rows  # pylint: disable=g-import-not-at-top
  paper = {"columns": ["mnist_n100", "mnist_n1000"],
           "rows": {"KDGAN": [[77.95, 0.05], [96.42, 0.05]]}}
  records = [_record("kdgan", 1, 0.78, 0.80), _record("kdgan", 0, 0.76, 0.79),
             _record("supervised_t", 0, 0.86, 0.87, "teacher", pretrained=0.85),
             _record("supervised_c", 0, 0.75, 0.76)]
  lines = method_rows(records, paper)
  assert len(lines) == 2 + 3
  # Table 1 order: supervised_c first, kdgan, supervised_t last.
  assert [line.split(" | ")[2] for line in lines[2:]] == ["supervised_c", "kdgan", "supervised_t"]
  kdgan = lines[3].split(" | ")
  assert kdgan[3] == "2 (seeds 0,1)"
  assert kdgan[5] == "**77.00 ± 1.41**"  # mean and sample std of 76 and 78
  assert kdgan[6] == "79.50 ± 0.71" and kdgan[7] == "77.95 ± 0.05"
  assert kdgan[8] == "5" and kdgan[9] == "10 |"
  teacher = lines[4].split(" | ")
  assert teacher[4] == "85.00 ± 0.00" and teacher[7] == "-"  # no paper row for SUPERVISED-T


def test_paper_table1_loads_with_one_cell_per_column():
  """Every report reads the paper column through load_paper_table1; a row with a missing cell
  would shift the paper's numbers under the wrong n."""
  from kdgan_tf.summarize import load_paper_table1, paper_number  # pylint: disable=g-import-not-at-top
  paper = load_paper_table1()
  assert paper["source"]
  assert all(len(cells) == len(paper["columns"]) for cells in paper["rows"].values())
  assert paper_number(paper, "cifar10", 500, "kdgan") == (57.56, paper["rows"]["KDGAN"][3][1])
