"""The Table 1 driver: its aggregation on hand-made run folders, and `run.sh table1-mnist
--quick` end to end on tiny generated data."""
import csv
import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import REPO
from kdgan_tf import errors
from kdgan_tf import outputs
from kdgan_tf.grid import definition
from kdgan_tf.grid import records as grid_records
from kdgan_tf.grid import report as grid_report
from kdgan_tf.grid import report_sync
from kdgan_tf.grid import rows as grid_rows
from kdgan_tf.grid import scheduling
from kdgan_tf.grid import stats as grid_stats


def _record(method, n, seed, selected, best, player="classifier"):
  prefix = "t" if player == "teacher" else "c"
  return {"finished": True, "dataset": "mnist", "n": n, "method": method, "seed": seed,
          "selected_player": player, "tensorflow": "2.x",
          "pretrain": {"classifier": {"seconds": 4.0}},
          "game": {"pretrained": {f"{prefix}_test_accuracy": 0.5},
                   "selected": {"epoch": 3, "val_accuracy": 0.6, "test_accuracy": selected},
                   "authors_protocol": {"epoch": 5, "test_accuracy": best},
                   "last": {"test_accuracy": selected},
                   "epochs": [{"seconds": 1.0}, {"seconds": 2.0}]}}


def _write(runs_dir, protocol, record):
  folder = os.path.join(runs_dir, protocol, f"mnist_n{record['n']}",
                        f"{record['method']}_s{record['seed']}")
  os.makedirs(folder)
  outputs.write_json(os.path.join(folder, "metrics.json"), record)


def test_each_protocol_reports_its_own_number(tmp_path):
  runs = str(tmp_path / "runs")
  _write(runs, "honest", _record("kdgan", 100, 0, 0.70, 0.90))
  _write(runs, "honest", _record("kdgan", 100, 1, 0.80, 0.95))
  _write(runs, "authors", _record("kdgan", 100, 0, 0.10, 0.60))
  unfinished = dict(_record("mimic", 100, 0, 0.99, 0.99), finished=False)
  _write(runs, "honest", unfinished)
  rows = grid_rows.collect(runs)
  assert len(rows) == 3  # the unfinished run is left out
  cells = grid_stats.table(rows)
  honest = cells[("kdgan", 100)]["honest"]
  assert honest[0] == pytest.approx(75.0) and honest[1] == pytest.approx(7.0710678)
  assert honest[2] == 2
  assert cells[("kdgan", 100)]["authors"] == (pytest.approx(60.0), 0.0, 1)


def test_report_and_csv_are_written(tmp_path):
  runs = str(tmp_path / "runs")
  _write(runs, "honest", _record("kdgan", 100, 0, 0.78, 0.80))
  _write(runs, "honest", _record("supervised_t", 100, 0, 0.86, 0.87, player="teacher"))
  rows = grid_rows.collect(runs)
  grid_report.write_report(rows, str(tmp_path / "report"), str(tmp_path / "results"), "cmd",
                           quick=False)
  text = (tmp_path / "report" / "REPORT.md").read_text()
  kdgan_line = next(l for l in text.splitlines() if l.startswith("| kdgan |"))
  assert "77.95 ± 0.05" in kdgan_line and "78.00 ± 0.00 (1)" in kdgan_line
  # n = 1,000 and 10,000 were not run: their columns show the paper beside "–", not nothing.
  assert kdgan_line.endswith("| 96.42 ± 0.05 | – | – | 99.25 ± 0.02 | – | – |"), kdgan_line
  assert "| supervised_t |" in text and "Command: `cmd`" in text
  with open(tmp_path / "results" / "runs.csv") as f:
    table = list(csv.DictReader(f))
  assert {r["method"] for r in table} == {"kdgan", "supervised_t"}
  assert float(next(r for r in table if r["method"] == "kdgan")["game_seconds"]) == 3.0
  summary = json.loads((tmp_path / "results" / "table1.json").read_text())
  assert summary["cells"][0]["reported"] == "selected_test"


def test_grid_is_seed_major_and_names_its_folders(tmp_path):
  runs = definition.grid(["honest", "authors"], [100, 1000], ["mimic", "kdgan"], 2, "R")
  assert len(runs) == 16
  assert [(r.n, r.seed) for r in runs[:8]] == [(100, 0)] * 4 + [(100, 1)] * 4
  authors = next(r for r in runs if r.protocol == "authors" and r.n == 1000)
  assert authors.gin_files() == ["mnist.gin", "mnist_n1000.gin", "authors.gin",
                                 "authors_n1000.gin", "mimic.gin"]
  assert authors.model_dir == os.path.join("R", "authors", "mnist_n1000", "mimic_s0")


def test_run_sh_table1_quick_end_to_end(tmp_path, tiny_npz):
  """Two protocols x three methods on tiny data; a second call trains nothing again."""
  runs_dir = str(tmp_path / "grid")
  args = ["bash", os.path.join(REPO, "run.sh"), "table1-mnist", "--quick", "--ns=40",
          f"--runs_dir={runs_dir}", "--methods=supervised_c,mimic,kdgan",
          f"--original_order_npz={tiny_npz}",
          f"--gin_bindings=load_image_classification.original_order_npz = '{tiny_npz}'",
          "--gin_bindings=load_image_classification.validation_size = 40"]
  first = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
  assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
  assert first.stdout.count(": done") == 6
  report = open(os.path.join(runs_dir, "REPORT.md")).read()
  assert "QUICK SMOKE RUN" in report
  for method in ("supervised_c", "mimic", "kdgan"):
    line = next(l for l in report.splitlines() if l.startswith(f"| {method} |"))
    assert line.count("(1)") == 2, line  # one honest and one authors run
  authors = json.load(open(os.path.join(runs_dir, "authors", "mnist_n40", "kdgan_s0",
                                        "metrics.json")))
  assert authors["augment"] is True and authors["finished"]
  # A finished grid run keeps its outputs but drops its ~300 MB resumable checkpoint.
  kdgan_dir = os.path.join(runs_dir, "authors", "mnist_n40", "kdgan_s0")
  assert os.path.exists(os.path.join(kdgan_dir, "weights", "best_classifier.weights.h5"))
  assert os.path.exists(os.path.join(kdgan_dir, "classifier.tflite"))
  assert not os.path.exists(os.path.join(kdgan_dir, "checkpoints"))
  # The driver says how the run was trained (alone here) and leaves no claim behind.
  driver = json.load(open(os.path.join(kdgan_dir, definition.DRIVER_FILE)))
  assert driver["other_runs_in_progress"] == 0 and driver["wall_seconds"] > 0
  assert not os.path.exists(os.path.join(kdgan_dir, "worker.claim"))
  assert "| 1 / 0 / 0 |" in report
  # Every finished run's record is archived beside the report (what gets committed).
  archived = os.path.join(runs_dir, "results", "records", "authors", "mnist_n40", "kdgan_s0")
  assert json.load(open(os.path.join(archived, "metrics.json")))["finished"]
  assert os.path.exists(os.path.join(archived, "config.gin"))
  assert os.path.exists(os.path.join(archived, definition.DRIVER_FILE))
  second = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
  assert second.returncode == 0 and ": done" not in second.stdout
  assert "6 finished runs" in second.stdout



def test_epochs_to_converge_and_mean_curves_by_hand():
  from kdgan_tf import figures  # pylint: disable=g-import-not-at-top
  history = [{"epoch": 0, "c_val_accuracy": 0.50}, {"epoch": 1, "c_val_accuracy": 0.70},
             {"epoch": 2, "c_val_accuracy": 0.795}, {"epoch": 3, "c_val_accuracy": 0.80},
             {"epoch": 4, "c_val_accuracy": 0.60}]
  assert figures.epochs_to_converge(history) == 2  # 0.795 >= 0.99 * 0.80 = 0.792
  assert figures.epochs_to_converge(history, fraction=1.0) == 3
  assert figures.epochs_to_converge([{"epoch": 1}]) is None
  game = [{"epoch": e, "c_val_accuracy": v} for e, v in enumerate([0.77, 0.76, 0.78, 0.79])]
  assert figures.epochs_to_gain(game) == 3  # .77 + .9 * .02 = .788
  assert figures.epochs_to_gain(game, fraction=0.4) == 2  # .778
  assert figures.epochs_to_gain(game[:1] + [{"epoch": 1, "c_val_accuracy": 0.7}]) is None
  assert figures.epochs_to_gain(game[1:]) is None  # no epoch 0: no pretrained reference
  other = [{"epoch": 0, "c_val_accuracy": 0.70}, {"epoch": 1, "c_val_accuracy": 0.90}]
  curve = figures.mean_curve([history, other], "c_val_accuracy")
  assert curve[0] == (0, pytest.approx(0.60), pytest.approx(0.1414213), 2)
  assert curve[2] == (2, pytest.approx(0.795), 0.0, 1)


def test_figure_3a_files(tmp_path):
  from kdgan_tf import figures  # pylint: disable=g-import-not-at-top
  records = []
  for method in ("nagan", "kdgan"):
    for seed in (0, 1):
      record = _record(method, 100, seed, 0.7, 0.8)
      record["game"]["pretrained"] = {"epoch": 0, "c_val_accuracy": 0.5, "c_test_accuracy": 0.5}
      record["game"]["epochs"] = [{"epoch": e, "c_val_accuracy": 0.5 + 0.1 * e + 0.01 * seed,
                                   "c_test_accuracy": 0.5 + 0.1 * e} for e in (1, 2, 3)]
      records.append(record)
  data = figures.write_fig3a(records, str(tmp_path))
  assert set(data) == {"nagan", "kdgan"} and data["kdgan"]["converge"] == [3, 3]
  for name in ("fig3a.png", "fig3a.csv", "fig3a_converge.csv"):
    assert (tmp_path / name).stat().st_size > 0
  with open(tmp_path / "fig3a_converge.csv") as f:
    rows = {r["method"]: r for r in csv.DictReader(f)}
  assert rows["kdgan"]["paper"] == "25" and rows["nagan"]["paper"] == "135"


def test_figure_4_groups_by_parameter_and_value(tmp_path):
  from kdgan_tf import figures  # pylint: disable=g-import-not-at-top
  points = [("beta", 10.0, _record("kdgan", 100, s, 0.70 + 0.02 * s, 0.8)) for s in (0, 1)]
  points += [("beta", 0.1, _record("kdgan", 100, 0, 0.60, 0.8)),
             ("alpha", 0.5, _record("kdgan", 100, 0, 0.75, 0.8))]
  data = figures.write_fig4(points, str(tmp_path))
  assert [row[0] for row in data["beta"]] == [0.1, 10.0]
  value, val_mean, val_std, test_mean, test_std, runs = data["beta"][1]
  assert test_mean == pytest.approx(0.71) and test_std == pytest.approx(0.0141421, rel=1e-5) and runs == 2
  assert (tmp_path / "fig4.png").stat().st_size > 0
  assert len(list(csv.DictReader(open(tmp_path / "fig4.csv")))) == 3


def test_sensitivity_grid_reuses_the_honest_pretraining():
  runs = definition.sensitivity_grid({"beta": (0.5, 1000.0)}, 2, "R")
  assert [r.model_dir for r in runs[:2]] == [
      os.path.join("R", "sensitivity", "mnist_n100", "kdgan_beta0.5_s0"),
      os.path.join("R", "sensitivity", "mnist_n100", "kdgan_beta1000_s0")]
  assert "KDGAN.beta = 1000.0" in runs[1].extra_bindings
  cache = os.path.join("R", "honest", "mnist_n100", "pretrain_cache")
  assert f"run_experiment.pretrain_cache_dir = '{cache}'" in runs[1].extra_bindings
  assert runs[1].gin_files() == ["mnist.gin", "kdgan.gin"]


def test_figure_7_from_probed_runs(tmp_path):
  from kdgan_tf import figures  # pylint: disable=g-import-not-at-top
  records = []
  for seed in (0, 1):
    record = _record("kdgan", 100, seed, 0.7, 0.8)
    record["game"]["epochs"] = [{"epoch": e, "var_grad_t": 1e-6 * (1 + seed),
                                 "var_grad_d_reinforce": 1e-3, "var_grad_d_concrete_pathwise":
                                 1e-4 * e, "sqmean_grad_t": 1e-6} for e in (1, 2)]
    records.append(record)
  data = figures.write_fig7(records, str(tmp_path))
  assert data["sqmean_grad_t"][1] == (2, pytest.approx(1e-6), 0.0, 2)  # second panel's input
  sources = {r["source"] for r in csv.DictReader(open(tmp_path / "fig7.csv"))}
  assert sources == {"var_grad_t", "sqmean_grad_t", "var_grad_d_reinforce",
                     "var_grad_d_concrete_pathwise"}
  assert data["var_grad_t"][0] == (1, pytest.approx(1.5e-6), pytest.approx(7.0710678e-07), 2)
  assert [c[1] for c in data["var_grad_d_concrete_pathwise"]] == pytest.approx([1e-4, 2e-4])
  assert (tmp_path / "fig7.png").stat().st_size > 0
  assert figures.write_fig7([_record("kdgan", 100, 0, 0.7, 0.8)], str(tmp_path / "none")) == {}


def test_a_grid_refuses_other_extra_bindings_and_forgets_old_failures(tmp_path):
  runs = str(tmp_path / "grid")
  assert scheduling.check_same_bindings(runs, ["a = 1"]) is None
  assert scheduling.check_same_bindings(runs, ["a = 1"]) is None
  assert "another --runs_dir" in scheduling.check_same_bindings(runs, ["a = 2"])
  failed = str(tmp_path / "x")
  scheduling.record_failures(runs, [{"model_dir": failed, "error": "boom"}])
  assert os.path.exists(os.path.join(runs, "failures.json"))
  os.makedirs(failed)
  outputs.write_json(os.path.join(failed, "metrics.json"), {"finished": True})  # retried, fine
  scheduling.record_failures(runs, [])
  assert not os.path.exists(os.path.join(runs, "failures.json"))


def test_a_finished_run_of_another_configuration_stops_the_grid_before_training(tmp_path):
  """After a gin file changes, the runs of the old recipe must not pass as the new one's."""
  runs_dir = str(tmp_path / "grid")
  run = definition.grid(["honest"], [100], ["kdgan"], 1, runs_dir)[0]
  os.makedirs(run.model_dir)
  outputs.write_json(os.path.join(run.model_dir, "metrics.json"), {"finished": True})
  now = scheduling.run_config(run.gin_files(), run.bindings(None, []))
  config = os.path.join(run.model_dir, "config.gin")
  older = "\n".join(line for line in now.splitlines() if "keep_checkpoints" not in line)
  for text, outdated in ((now, False), (older, False),  # storage only: the same run
                         (now.replace("KDGAN.beta = 2.0", "KDGAN.beta = 4.0"), True)):
    with open(config, "w") as f:
      f.write(text)
    assert scheduling.outdated_runs([run], False, None, []) == ([run.model_dir] * outdated)
  result = subprocess.run(
      ["bash", os.path.join(REPO, "run.sh"), "table1-mnist", "--protocols=honest",
       "--methods=kdgan", "--ns=100", "--seeds=1", f"--runs_dir={runs_dir}",
       f"--report_dir={tmp_path}"], capture_output=True, text=True, timeout=300, cwd=REPO)
  assert result.returncode == 2 and "another configuration" in result.stderr
  assert "honest/mnist_n100/kdgan_s0" in result.stderr
  assert not (tmp_path / "REPORT.md").exists()
  # `report` trains nothing, yet refuses to present the old recipe's run as the new one's.
  result = subprocess.run(
      [sys.executable, "-m", "kdgan_tf.reproduce", "report", f"--runs_dir={runs_dir}",
       f"--report_dir={tmp_path}"], capture_output=True, text=True, timeout=300, cwd=REPO)
  assert result.returncode == 2 and "another configuration" in result.stderr
  assert "honest/mnist_n100/kdgan_s0" in result.stderr
  assert not (tmp_path / "REPORT.md").exists()


def test_the_committed_mnist_runs_are_current_wherever_the_data_lives(tmp_path):
  """Their config.gin files are what mnist.gin and its siblings give now (a recipe change
  must move them aside), also with an original-order npz path long enough for gin to wrap its
  binding over two lines."""
  runs_dir = str(tmp_path / "grid")
  assert grid_records.restore_records(os.path.join(REPO, "results", "table1_mnist"),
                                      runs_dir) > 100
  npz = "/home/a-user-with-a-long-name/.keras/datasets/" + "x" * 40 + "/mnist.npz"
  runs = definition.grid(definition.TABLE_PROTOCOLS, definition.MNIST.default_ns,
                         list(definition.METHOD_FILES), 10, runs_dir)
  assert sum(run.finished() for run in runs) > 100
  assert scheduling.outdated_runs(runs, False, npz, []) == []
  # What `report` checks is the same set of runs, found from the folders alone.
  found = grid_records.reported_runs(runs_dir, definition.MNIST, None)
  assert sorted(r.model_dir for r in found) == sorted(r.model_dir for r in runs if r.finished())


def test_failures_of_two_workers_are_kept_until_their_runs_finish(tmp_path):
  runs = str(tmp_path / "grid")
  a_dir, b_dir = os.path.join(runs, "honest", "mnist_n100", "a"), os.path.join(runs, "b")
  scheduling.record_failures(runs, [{"model_dir": a_dir, "error": "boom a"}])  # worker 1
  scheduling.record_failures(runs, [{"model_dir": b_dir, "error": "boom b"}])  # worker 2
  path = os.path.join(runs, "failures.json")
  assert {f["model_dir"] for f in outputs.read_json(path)} == {a_dir, b_dir}
  scheduling.record_failures(runs, [{"model_dir": b_dir, "error": "boom b again"}])
  assert [f["error"] for f in outputs.read_json(path)] == ["boom a", "boom b again"]
  os.makedirs(a_dir)
  outputs.write_json(os.path.join(a_dir, "metrics.json"), {"finished": True})
  scheduling.record_failures(runs, [])  # a clean call by worker 1: a finished since, b did not
  assert [f["model_dir"] for f in outputs.read_json(path)] == [b_dir]


def test_the_grids_extra_bindings_are_named_in_the_report(tmp_path):
  """A `report` call does not repeat the grid's --gin_bindings, so REPORT.md reads them from
  grid_bindings.json: an augmented grid must not read as the plain honest protocol."""
  runs = str(tmp_path / "runs")
  _write(runs, "honest", _record("kdgan", 100, 0, 0.90, 0.91))
  scheduling.check_same_bindings(runs, ["run_experiment.augment = True"])
  grid_report.write_report(grid_rows.collect(runs), str(tmp_path / "a"), str(tmp_path / "a_res"),
                           "cmd", quick=False, grid_bindings=["run_experiment.augment = True"])
  text = (tmp_path / "a" / "REPORT.md").read_text()
  assert "also had these gin bindings** (both protocols): `run_experiment.augment = True`" in text
  grid_report.write_report(grid_rows.collect(runs), str(tmp_path / "b"), str(tmp_path / "b_res"),
                           "cmd", quick=False)
  text = (tmp_path / "b" / "REPORT.md").read_text()
  assert "also had these gin bindings" not in text
  assert "Extra gin bindings of every run (`grid_bindings.json`): none." in text


def test_a_worker_records_its_failure_only_after_the_other_released_the_file(tmp_path):
  """failures.json is read, merged and written under a lock: a worker that finishes while
  another one holds the file waits, then keeps the other's entry."""
  import threading  # pylint: disable=g-import-not-at-top
  runs = str(tmp_path / "grid")
  path = os.path.join(runs, "failures.json")
  scheduling.record_failures(runs, [{"model_dir": os.path.join(runs, "a"), "error": "boom a"}])
  with outputs.locked(path):  # worker 1 in the middle of its read-modify-write
    worker_2 = threading.Thread(target=scheduling.record_failures, args=(
        runs, [{"model_dir": os.path.join(runs, "b"), "error": "boom b"}]))
    worker_2.start()
    worker_2.join(timeout=1.0)
    assert worker_2.is_alive()  # blocked on the lock
    assert [f["error"] for f in outputs.read_json(path)] == ["boom a"]
  worker_2.join(timeout=10.0)
  assert not worker_2.is_alive()
  assert [f["error"] for f in outputs.read_json(path)] == ["boom a", "boom b"]


def test_the_sweep_point_at_the_default_weights_is_the_table_1_run(tmp_path, monkeypatch):
  """alpha = 0.5 is mnist.gin's value: that Figure 4 point is trained once, as the honest
  Table 1 KDGAN run, and the sweep folder points to it; a second call trains nothing."""
  runs = str(tmp_path / "grid")
  trained = []

  def fake_train(gin_files, bindings, model_dir):
    trained.append((model_dir, list(bindings)))
    seed = int(model_dir.rsplit("_s", 1)[1])
    outputs.write_json(os.path.join(model_dir, "metrics.json"),
                       _record("kdgan", 100, seed, 0.7, 0.8))

  monkeypatch.setattr(scheduling, "train_run", fake_train)
  sweep = definition.sensitivity_grid({"alpha": (0.3, 0.5)}, 2, runs, defaults={"alpha": 0.5})
  assert [r.same_as is not None for r in sweep] == [False, True, False, True]
  _write(runs, "honest", _record("kdgan", 100, 0, 0.9, 0.9))  # the grid did seed 0 already
  assert scheduling.execute(sweep, False, None, []) == []
  grid_dir = os.path.join(runs, "honest", "mnist_n100")
  assert [m for m, _ in trained] == [os.path.join(runs, "sensitivity", "mnist_n100",
                                                  "kdgan_alpha0.3_s0"),
                                     os.path.join(runs, "sensitivity", "mnist_n100",
                                                  "kdgan_alpha0.3_s1"),
                                     os.path.join(grid_dir, "kdgan_s1")]
  assert not any("KDGAN.alpha" in b for b in trained[2][1])  # the grid run's own bindings
  points = grid_records.sensitivity_points(runs)
  assert sorted((p, v, r["seed"], r["game"]["selected"]["test_accuracy"])
                for p, v, r in points) == [("alpha", 0.3, 0, 0.7), ("alpha", 0.3, 1, 0.7),
                                           ("alpha", 0.5, 0, 0.9), ("alpha", 0.5, 1, 0.7)]
  assert not os.path.exists(os.path.join(runs, "sensitivity", "mnist_n100", "kdgan_alpha0.5_s0",
                                         "metrics.json"))
  assert scheduling.execute(sweep, False, None, []) == [] and len(trained) == 3
  # Only Table 1's folders count in Table 1: the sweep's links are not rows.
  assert len(grid_rows.collect(runs)) == 2


def test_a_sweep_point_is_linked_when_its_target_was_finished_by_another_worker(
    tmp_path, monkeypatch):
  """The target finishes elsewhere between our look and our claim: link it in this call."""
  runs = str(tmp_path / "grid")
  sweep = definition.sensitivity_grid({"alpha": (0.5,)}, 1, runs, defaults={"alpha": 0.5})
  point = sweep[0]

  def finished_elsewhere(target, quick, npz, extra_bindings):
    _write(runs, "honest", _record("kdgan", 100, 0, 0.9, 0.9))
    return scheduling.Attempt(held=True)

  monkeypatch.setattr(scheduling, "attempt", finished_elsewhere)
  assert scheduling.execute(sweep, False, None, []) == []
  assert point.finished()


def test_kdgan_defaults_are_read_from_the_gin_files():
  assert definition.kdgan_defaults() == {"alpha": 0.5, "beta": 2.0, "gamma": 0.01}


def test_runs_held_by_other_workers_are_waited_for_never_left_out(tmp_path, monkeypatch,
                                                                 capsys):
  """Run a is held by a live worker of another machine, which finishes it while we wait; run b
  is held by a worker whose claim goes stale while we wait (killed): we train b."""
  from kdgan_tf import claims  # pylint: disable=g-import-not-at-top
  runs = str(tmp_path / "grid")
  run_a, run_b, run_c = (definition.Run("honest", 100, m, 0, runs) for m in ("a", "b", "c"))
  claim_files = []
  for run in (run_a, run_b):
    os.makedirs(run.model_dir)
    claim_files.append(os.path.join(run.model_dir, claims.CLAIM_FILE))
    with open(claim_files[-1], "w") as f:
      json.dump({"host": "another-machine", "pid": 1}, f)
  os.makedirs(os.path.join(run_b.model_dir, "checkpoints"))  # the dead worker had started b
  trained = []

  def fake_train(gin_files, bindings, model_dir):
    trained.append(os.path.basename(model_dir))
    outputs.write_json(os.path.join(model_dir, "metrics.json"), {"finished": True})

  def fake_sleep(seconds):  # meanwhile: a finishes elsewhere, b's holder dies
    outputs.write_json(os.path.join(run_a.model_dir, "metrics.json"), {"finished": True})
    os.remove(claim_files[0])
    long_ago = time.time() - claims.STALE_SECONDS - 1
    os.utime(claim_files[1], (long_ago, long_ago))

  monkeypatch.setattr(scheduling, "train_run", fake_train)
  monkeypatch.setattr(scheduling.time, "sleep", fake_sleep)
  assert scheduling.execute([run_a, run_b, run_c], False, None, []) == []
  assert trained == ["c_s0", "b_s0"]
  assert "2 runs are held by other workers" in capsys.readouterr().out
  driver = outputs.read_json(os.path.join(run_b.model_dir, definition.DRIVER_FILE))
  assert driver["resumed_earlier_attempt"] is True
  assert grid_rows.run_row("honest", {}, driver)["other_runs_in_progress"] is None
  assert outputs.read_json(os.path.join(run_c.model_dir, definition.DRIVER_FILE))[
      "resumed_earlier_attempt"] is False


def test_cost_table_separates_runs_trained_alone():
  rows = []
  for seed, others, load, game in ((0, 0, 3.5, 100.0), (1, 1, 2.0, 160.0), (2, None, None, 150.0)):
    driver = {"other_runs_in_progress": others, "max_load_average_1min": load}
    row = grid_rows.run_row("honest", _record("kdgan", 100, seed, 0.7, 0.8),
                            None if others is None else driver)
    rows.append(dict(row, game_seconds=game))
  text = "\n".join(grid_report._cost_lines(rows))  # pylint: disable=protected-access
  # Seed 0 was alone in its grid, but the load (3.5 on the mean of 2 recorded) shows others.
  assert "| honest | 100 | kdgan | 3 | 137 | 4 | 1 / 1 / 1 | 100 | 2.8 (2) |" in text


def test_report_on_an_empty_grid_is_refused(tmp_path):
  report = tmp_path / "REPORT.md"
  report.write_text("an earlier report")
  result = subprocess.run(
      ["bash", os.path.join(REPO, "run.sh"), "table1-mnist", "--protocols=honest",
       "--methods=kdgan", "--seeds=0", f"--runs_dir={tmp_path / 'empty'}",
       f"--report_dir={tmp_path}"], capture_output=True, text=True, timeout=300, cwd=REPO)
  assert result.returncode == 2 and "no finished runs" in result.stderr
  assert report.read_text() == "an earlier report"


def test_paired_differences_by_hand(tmp_path):
  runs = str(tmp_path / "runs")
  # honest: KDGAN 0.80 / 0.82 / 0.81, MIMIC 0.78 / 0.79 / 0.83 (seed 2 ahead), SUPERVISED-C
  # only seed 0; authors reports the best test accuracy: KDGAN 0.70, MIMIC 0.60 (seed 0).
  for seed, (k, m) in enumerate([(0.80, 0.78), (0.82, 0.79), (0.81, 0.83)]):
    _write(runs, "honest", _record("kdgan", 100, seed, k, 0.99))
    _write(runs, "honest", _record("mimic", 100, seed, m, 0.99))
  _write(runs, "honest", _record("supervised_c", 100, 0, 0.75, 0.99))
  _write(runs, "honest", _record("supervised_t", 100, 0, 0.90, 0.99, player="teacher"))
  _write(runs, "authors", _record("kdgan", 100, 0, 0.1, 0.70))
  _write(runs, "authors", _record("mimic", 100, 0, 0.1, 0.60))
  diffs = grid_stats.paired_differences(grid_rows.collect(runs))
  mean, std, count = diffs[("honest", 100, "mimic")]
  # differences +2, +3, -2 points: mean 1, sample std sqrt(((1)^2 + 2^2 + 3^2) / 2) = sqrt(7)
  assert (mean, count) == (pytest.approx(1.0), 3) and std == pytest.approx(7 ** 0.5)
  assert diffs[("honest", 100, "supervised_c")] == (pytest.approx(5.0), 0.0, 1)
  assert diffs[("authors", 100, "mimic")][0] == pytest.approx(10.0)
  assert ("honest", 100, "supervised_t") not in diffs  # the teacher is not a rival of C
  paired = grid_report._paired_lines(grid_rows.collect(runs))  # pylint: disable=protected-access
  text = "\n".join(paired)
  assert "| honest | 100 | mimic | +1.00 ± 2.65 (3) | no |" in text
  assert "| honest | 100 | supervised_c | +5.00 ± 0.00 (1) | n/a (1 seed) |" in text


def _curve_record(method, seed, vals, tests):
  record = _record(method, 100, seed, tests[-1], max(tests))
  record["game"]["pretrained"] = {"epoch": 0, "c_val_accuracy": 0.5, "c_test_accuracy": 0.5}
  record["game"]["epochs"] = [{"epoch": e + 1, "c_val_accuracy": v, "c_test_accuracy": t}
                              for e, (v, t) in enumerate(zip(vals, tests))]
  return record


def test_report_has_a_figures_section_from_whatever_finished(tmp_path):
  """Figure 4 points come from the sweep's folder names; unfinished or foreign folders are
  skipped; REPORT.md gains the epochs-to-converge and sweep tables."""
  runs = str(tmp_path / "runs")
  _write(runs, "honest", _curve_record("kdgan", 0, [0.6, 0.8, 0.79], [0.6, 0.7, 0.75]))
  _write(runs, "honest", _curve_record("kdgan", 1, [0.7, 0.71, 0.9], [0.6, 0.7, 0.75]))
  sweep = os.path.join(runs, "sensitivity", "mnist_n100")
  for name, finished in (("kdgan_beta0.001_s0", True), ("kdgan_beta1000_s0", True),
                         ("kdgan_gamma1_s0", False), ("notes", True)):
    os.makedirs(os.path.join(sweep, name))
    outputs.write_json(os.path.join(sweep, name, "metrics.json"),
                       dict(_record("kdgan", 100, 0, 0.7, 0.8), finished=finished))
  points = grid_records.sensitivity_points(runs)
  assert [(p, v) for p, v, _ in points] == [("beta", 0.001), ("beta", 1000.0)]
  lines, drawn = grid_report.write_figures(runs, str(tmp_path / "figs"))
  assert drawn == 2  # 3a and 4; no probed runs
  text = "\n".join(lines)
  # seed 0 reaches .99 * .8 at epoch 2, seed 1 .99 * .9 at 3; mean val (.79 + .9) / 2 at 3
  # 90 % of the gain over the pretrained .5: .77 (epoch 2) and .86 (epoch 3)
  assert "| KDGAN | 2 | 2.5 (2 3) | 25 | 2 3 | 50.00 | 84.50 (3) |" in text
  assert "| beta | 0.001 | 60.00 ± 0.00 | 70.00 ± 0.00 | 1 |" in text
  assert "Figure 7" not in text  # no probed runs
  assert (tmp_path / "figs" / "fig4.png").exists() and (tmp_path / "figs" / "fig3a.png").exists()
  grid_report.write_report(grid_rows.collect(runs), str(tmp_path), str(tmp_path / "results"),
                           "cmd", quick=False, extra_lines=lines)
  assert "## Figures (honest protocol, MNIST n = 100)" in (tmp_path / "REPORT.md").read_text()


def test_figure_7_summary_gives_the_variance_ratio():
  from kdgan_tf import figures  # pylint: disable=g-import-not-at-top
  fig7 = {"var_grad_d_concrete_pathwise": [(1, 1e-4, 0, 2), (2, 2e-4, 0, 2)],
          "var_grad_d_reinforce": [(1, 1e-2, 0, 2), (2, 1e-2, 0, 2)]}
  fig7["sqmean_grad_d_concrete_pathwise"] = [(1, 1e-3, 0, 2), (2, 4e-3, 0, 2)]
  text = "\n".join(figures.summary_markdown({}, {}, fig7, "F"))
  assert "median 75, range 50 to 100." in text  # 1e-2 / 1e-4 and 1e-2 / 2e-4
  # last variance over last squared mean: 2e-4 / 4e-3; the score function has no squared mean
  assert ("| from D, concrete relaxation (KDGAN's) | 0.0001 (epoch 1) | 0.0002 (epoch 2) | "
          "0.0002 (epoch 2) | 0.05 |") in text
  assert "(KDGAN-WO-GM's estimator) | 0.01 (epoch 1) | 0.01 (epoch 2) | 0.01 (epoch 2) | – |" in text
  assert figures.summary_markdown({}, {}, {}, "F") == []


def test_shards_split_a_grid_by_seed_and_bad_shards_are_refused():
  runs = definition.grid(["honest"], [100], ["mimic", "kdgan"], 5, "R")
  shards = [definition.in_shard(runs, definition.parse_shard(f"{i}/2")) for i in (0, 1)]
  assert sorted({r.seed for r in shards[0]}) == [0, 2, 4] and len(shards[1]) == 4
  assert sorted(r.model_dir for s in shards for r in s) == sorted(r.model_dir for r in runs)
  for bad in ("2/2", "1", "a/b", "0/0"):
    with pytest.raises(errors.UserError, match="--shard"):
      definition.parse_shard(bad)


def test_teacher_table_separates_frozen_from_trained_teachers(tmp_path):
  runs = str(tmp_path / "runs")
  frozen = _record("mimic", 100, 0, 0.6, 0.6)
  frozen["game"]["pretrained"]["t_test_accuracy"] = 0.64
  trained = _record("kdgan", 100, 0, 0.7, 0.7)
  trained["game"]["pretrained"]["t_test_accuracy"] = 0.64
  trained["game"]["epochs"] = [{"seconds": 1.0, "t_test_accuracy": 0.70},
                               {"seconds": 1.0}, {"seconds": 1.0, "t_test_accuracy": 0.78}]
  for record in (frozen, trained, _record("supervised_c", 100, 0, 0.7, 0.7)):
    _write(runs, "authors", record)
  rows = grid_rows.collect(runs)
  assert [r["teacher_final_test"] for r in rows] == [0.78, 0.64, None]  # kdgan, mimic, sup_c
  text = "\n".join(grid_report._teacher_lines(rows))  # pylint: disable=protected-access
  assert "| authors | 100 | mimic | 64.00 ± 0.00 (1) | 64.00 ± 0.00 (1) |" in text
  assert "| authors | 100 | kdgan | 64.00 ± 0.00 (1) | 78.00 ± 0.00 (1) |" in text
  assert "supervised_c" not in text


def test_run_sh_figures_quick_end_to_end(tmp_path, tiny_npz):
  """The quick sweep and probe on tiny data. With --gin_bindings 'KDGAN.alpha = 0.1' the sweep's
  alpha = 0.1 point is the grid's configuration: it is trained once, as the honest Table 1 run,
  and linked; a second call trains nothing."""
  runs_dir = str(tmp_path / "grid")
  args = ["bash", os.path.join(REPO, "run.sh"), "figures", "--quick", f"--runs_dir={runs_dir}",
          f"--gin_bindings=load_image_classification.original_order_npz = '{tiny_npz}'",
          "--gin_bindings=load_image_classification.validation_size = 40",
          "--gin_bindings=KDGAN.alpha = 0.1"]
  first = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
  assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
  assert first.stdout.count(": done") == 7  # 1 probe + 6 sweep points, one of them linked
  assert "alpha0.1 seed 0 (as honest/mnist_n100/kdgan_s0): done" in first.stdout
  link = os.path.join(runs_dir, "sensitivity", "mnist_n100", "kdgan_alpha0.1_s0")
  assert os.listdir(link) == [definition.SAME_AS_FILE]
  results = os.path.join(runs_dir, "results")
  for name in ("fig4.png", "fig4.csv", "fig7.png", "fig7.csv"):
    assert os.path.getsize(os.path.join(results, name)) > 0, name
  fig4 = list(csv.DictReader(open(os.path.join(results, "fig4.csv"))))
  assert len(fig4) == 6
  second = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
  assert second.returncode == 0 and ": done" not in second.stdout


def test_collapse_is_the_first_epoch_below_half_the_pretrained_validation_accuracy(tmp_path):
  runs = str(tmp_path / "runs")
  steady = _record("kdgan", 1000, 0, 0.93, 0.94)
  collapsing = _record("nagan", 1000, 0, 0.85, 0.85)
  for record in (steady, collapsing):
    record["game"]["pretrained"].update(c_val_accuracy=0.90, c_test_accuracy=0.91)
  steady["game"]["epochs"] = [{"epoch": 1, "c_val_accuracy": 0.46},  # above half of 0.90
                              {"epoch": 2, "c_val_accuracy": 0.92}]
  collapsing["game"]["epochs"] = [{"epoch": 1, "c_val_accuracy": 0.85},
                                  {"epoch": 2, "c_val_accuracy": 0.80},
                                  {"epoch": 3, "c_val_accuracy": 0.44},
                                  {"epoch": 4, "c_val_accuracy": 0.11}]
  for record in (steady, collapsing):
    _write(runs, "honest", record)
  rows = grid_rows.collect(runs)
  assert [(r["method"], r["collapse_epoch"]) for r in rows] == [("kdgan", None), ("nagan", 3)]
  text = "\n".join(grid_report._game_effect_lines(rows))  # pylint: disable=protected-access
  assert ("| honest | 1,000 | nagan | 91.00 ± 0.00 (1) | 85.00 ± 0.00 (1) | -6.00 ± 0.00 "
          "| 1 of 1 (3) |") in text
  assert ("| honest | 1,000 | kdgan | 91.00 ± 0.00 (1) | 93.00 ± 0.00 (1) | +2.00 ± 0.00 "
          "| 0 of 1 |") in text
  assert grid_rows.collapse_epoch({"game": {"epochs": [{"c_val_accuracy": 0.0}]}}) is None


def test_game_effect_section_uses_each_protocols_number_and_the_teacher_for_supervised_t(
    tmp_path):
  authors = _record("kdgan", 100, 0, 0.60, 0.70)  # authors: best test 0.70 is reported
  authors["game"]["pretrained"].update(c_val_accuracy=0.5, c_test_accuracy=0.55)
  teacher = _record("supervised_t", 100, 0, 0.86, 0.87, player="teacher")
  teacher["game"]["pretrained"].update(t_val_accuracy=0.8, t_test_accuracy=0.84)
  teacher["game"]["epochs"] = [{"epoch": 1, "t_val_accuracy": 0.3, "c_val_accuracy": 0.9}]
  rows = [grid_rows.run_row("authors", authors), grid_rows.run_row("honest", teacher)]
  assert [r["collapse_epoch"] for r in rows] == [None, 1]  # T's accuracy, not C's
  grid_report.write_report(rows, str(tmp_path / "report"), str(tmp_path / "results"), "cmd",
                           quick=False)
  text = (tmp_path / "report" / "REPORT.md").read_text()
  assert "## What the game did to the reported player" in text
  assert ("| authors | 100 | kdgan | 55.00 ± 0.00 (1) | 70.00 ± 0.00 (1) | +15.00 ± 0.00 "
          "| 0 of 1 |") in text
  assert ("| honest | 100 | supervised_t | 84.00 ± 0.00 (1) | 86.00 ± 0.00 (1) | +2.00 ± 0.00 "
          "| 1 of 1 (1) |") in text


def test_records_restore_a_lost_runs_folder_and_never_overwrite(tmp_path):
  """archive_records then restore_records gives back every finished run, a Figure 4 link
  included, so a fresh clone reports (and skips) what its committed records hold."""
  runs, results = str(tmp_path / "runs"), str(tmp_path / "results")
  _write(runs, "honest", _record("kdgan", 100, 0, 0.70, 0.90))
  _write(runs, "authors", _record("mimic", 100, 1, 0.60, 0.65))
  _write(runs, "honest", dict(_record("noisy", 100, 0, 0.9, 0.9), finished=False))
  target = definition.Run("honest", 100, "kdgan", 0, runs)
  link = definition.Run("sensitivity", 100, "kdgan", 0, runs, variant="alpha0.5", same_as=target)
  link.link()
  assert scheduling.check_same_bindings(runs, ["KDGAN.beta = 4.0"]) is None
  assert grid_records.archive_records(runs, results) == 3  # the unfinished run is not archived
  before = grid_rows.collect(runs)
  # A runs folder recorded with other bindings gets nothing: its runs would mix two configs.
  other = str(tmp_path / "other")
  assert scheduling.check_same_bindings(other, []) is None
  assert grid_records.restore_records(results, other) == 0
  assert grid_rows.collect(other) == []
  os.rename(runs, str(tmp_path / "lost"))
  assert grid_records.restore_records(results, runs) == 3
  assert grid_rows.collect(runs) == before
  assert scheduling.check_same_bindings(runs, []) is not None  # the bindings came back too
  assert [p for p, _, _ in grid_records.sensitivity_points(runs)] == ["alpha"]
  assert not [n for n in os.listdir(runs) if n.startswith(".restoring")]
  # An existing folder, finished or not, is never replaced; a second restore finds nothing.
  changed = os.path.join(runs, "honest", "mnist_n100", "kdgan_s0", "metrics.json")
  outputs.write_json(changed, dict(_record("kdgan", 100, 0, 0.1, 0.1), finished=False))
  assert grid_records.restore_records(results, runs) == 0
  assert not json.load(open(changed))["finished"]


def test_a_figure_without_its_runs_keeps_its_files_and_reads_its_table_back(tmp_path):
  from kdgan_tf import figures  # pylint: disable=g-import-not-at-top
  folder = str(tmp_path / "figs")
  points = [("beta", 0.001, _record("kdgan", 100, s, 0.7 + s / 100, 0.8)) for s in range(2)]
  fig4 = figures.write_fig4(points, folder)
  assert figures.read_fig4_csv(folder) == fig4
  probed = _record("kdgan", 100, 0, 0.7, 0.8)
  probed["game"]["epochs"] = [{"epoch": 1, "var_grad_t": 0.25, "sqmean_grad_t": 1 / 3}]
  fig7 = figures.write_fig7([probed], folder)
  assert figures.read_fig7_csv(folder) == fig7
  assert figures.read_fig4_csv(str(tmp_path / "none")) == {}
  png = (tmp_path / "figs" / "fig4.png").read_bytes()
  (tmp_path / "figs" / "fig4.png").write_bytes(png + b"kept")  # a redraw would lose the tail
  runs = str(tmp_path / "runs")
  _write(runs, "honest", _curve_record("kdgan", 0, [0.6, 0.8], [0.6, 0.7]))
  lines, drawn = grid_report.write_figures(runs, folder)
  text = "\n".join(lines)
  assert drawn == 1  # only 3a
  assert "Figures 4 and 7: no finished runs below the runs folder, so not redrawn" in text
  assert "read back from fig4.csv / fig7.csv." in text
  assert "| beta | 0.001 | 60.00 ± 0.00 | 70.50 ± 0.71 | 2 |" in text
  assert "| from T (distillation) | 0.25 (epoch 1)" in text
  assert (tmp_path / "figs" / "fig4.png").read_bytes() == png + b"kept"


def test_readme_table_is_copied_from_the_report_between_its_markers(tmp_path):
  begin, end = report_sync.README_TABLE_MARKERS
  readme = tmp_path / "README.md"
  readme.write_text(f"# x\n\n{begin}\n| old | table |\n{end}\n\nAfter.\n")
  report = "# R\n\n| method | n = 100 |\n|---|---|\n| kdgan | 78.55 |\n\n## Next\n| other |\n"
  assert report_sync.update_readme_table(str(readme), report)
  assert readme.read_text() == (f"# x\n\n{begin}\n\n| method | n = 100 |\n|---|---|\n"
                                f"| kdgan | 78.55 |\n\n{end}\n\nAfter.\n")
  plain = tmp_path / "PLAIN.md"
  plain.write_text("no markers\n")
  assert not report_sync.update_readme_table(str(plain), report)
  assert plain.read_text() == "no markers\n"
  assert not report_sync.update_readme_table(str(readme), "no table here\n")


GOLDEN_REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden",
                             "table1_report")


def _golden_text(text, tmp_path):
  """The report without what depends on the machine or the test's temporary folder."""
  text = text.replace(str(tmp_path), "TMP")
  return re.sub(r"^- Machine of the report: .*$", "- Machine of the report: (machine)", text,
                flags=re.M)


def test_report_from_committed_records_matches_the_golden_files(tmp_path, monkeypatch):
  """Behaviour pinned across refactors: REPORT.md, runs.csv and table1.json built from a few
  real records (copied from results/table1_mnist/records into tests/golden/table1_report) plus
  hand-made ones must equal the golden files, written by `KDGAN_WRITE_GOLDEN=1 pytest -k
  golden tests/test_reproduce.py` from the code before the redesign. Machine lines and the
  temporary folder are masked."""
  import shutil  # pylint: disable=g-import-not-at-top
  runs = str(tmp_path / "runs")
  shutil.copytree(os.path.join(GOLDEN_REPORT, "records"), runs)
  fewer = dict(_record("supervised_c", 60000, 0, 0.99, 0.995), train_size=55000)
  _write(runs, "honest", fewer)  # "trained on fewer images" line
  _write(runs, "honest", dict(_record("distn", 100, 0, 0.9, 0.9), finished=False))
  monkeypatch.setattr(grid_report, "APPENDIX_D_DIR", os.path.join(GOLDEN_REPORT, "appendix_d"))
  figure_lines, drawn = grid_report.write_figures(runs, str(tmp_path / "figs"))
  assert drawn == 1  # 3a only: no sweep or probed runs
  rows = grid_rows.collect(runs)
  failures = [{"model_dir": os.path.join(runs, "honest", "mnist_n100", "distn_s0"),
               "error": "Traceback (most recent call last):\nValueError: boom\n"}]
  bindings = ["load_image_classification.validation_size = 5000"]
  outputs_now = {}
  grid_report.write_report(rows, str(tmp_path / "a"), str(tmp_path / "a_results"), "cmd a",
                           False, failures, figure_lines, bindings)
  outputs_now["REPORT.md"] = (tmp_path / "a" / "REPORT.md").read_text()
  outputs_now["runs.csv"] = (tmp_path / "a_results" / "runs.csv").read_text()
  outputs_now["table1.json"] = (tmp_path / "a_results" / "table1.json").read_text()
  # Another dataset (no paper column), quick, with its own protocol text and data note.
  grid_report.write_report(rows, str(tmp_path / "b"), str(tmp_path / "b_results"), "cmd b", True,
                           dataset_name="fashion_mnist", authors_text="the authors' recipe",
                           data_note="generated data.")
  outputs_now["REPORT_quick_other_dataset.md"] = (tmp_path / "b" / "REPORT.md").read_text()
  outputs_now["table1_quick_other_dataset.json"] = (
      tmp_path / "b_results" / "table1.json").read_text()
  for name, text in outputs_now.items():
    text = _golden_text(text, tmp_path)
    path = os.path.join(GOLDEN_REPORT, name)
    if os.environ.get("KDGAN_WRITE_GOLDEN"):
      with open(path, "w", encoding="utf-8") as f:
        f.write(text)
      continue
    with open(path, encoding="utf-8") as f:
      assert text == f.read(), name


def test_root_report_gains_the_other_half_of_table1_from_its_committed_records(tmp_path):
  """The root REPORT.md (MNIST's) ends with CIFAR-10's table, rebuilt from
  results/table1_cifar10/records on every call, in place (no second copy)."""
  root = tmp_path / "REPORT.md"
  root.write_text("# Table 1 (MNIST), reproduced\n\n| method | x |\n|---|\n\n## Cost\n\nmnist\n")
  results = str(tmp_path / "results")
  assert report_sync.update_root_report_halves(str(root), results)
  text = root.read_text()
  assert text.startswith("# Table 1 (MNIST), reproduced\n\n| method | x |")
  assert "## Table 1's other half: CIFAR-10" in text.split("## Cost")[1]
  assert "No CIFAR-10 run has finished yet (`bash run.sh table1-cifar10`)." in text
  records = os.path.join(results, "table1_cifar10", "records")
  record = dict(_record("kdgan", 500, 0, 0.4346, 0.4560), dataset="cifar10")
  folder = os.path.join(records, "honest", "cifar10_n500", "kdgan_s0")
  os.makedirs(folder)
  outputs.write_json(os.path.join(folder, "metrics.json"), record)
  assert report_sync.update_root_report_halves(str(root), results)
  text = root.read_text()
  assert text.count("## Table 1's other half: CIFAR-10") == 1
  assert "No CIFAR-10 run" not in text
  row = next(line for line in text.splitlines() if line.startswith("| kdgan |"))
  # paper 500 | honest | authors, then 5,000 (not in the paper), 25,000 and 50,000.
  assert row.split(" | ")[1:4] == ["57.56 ± 0.13", "43.46 ± 0.00 (1)", "–"]
  assert row.split(" | ")[4:7] == ["-", "–", "–"]
  assert report_sync.update_root_report_halves(str(root), results)
  assert root.read_text() == text  # idempotent
  assert not report_sync.update_root_report_halves(str(tmp_path / "none.md"), results)


def test_seed_cost_sums_a_seeds_methods_and_marks_partial_seeds():
  rows = []
  for seed in (0, 1):
    for i, method in enumerate(definition.METHOD_FILES):
      if seed == 1 and i >= 2:
        break  # seed 1: two methods finished
      row = grid_rows.run_row("honest", _record(method, 500, seed, 0.5, 0.6), None)
      rows.append(dict(row, game_seconds=100.0, pretrain_seconds=50.0 if i == 0 else 0.0))
  text = "\n".join(grid_report._seed_cost_lines(rows))  # pylint: disable=protected-access
  # seed 0: 9 games of 100 s + one pretraining of 50 s; seed 1: 2 games + 50 s
  assert "| honest | 500 | 1 | 950 (950 – 950) | seed 1: 2, 250 |" in text
  # the driver's wall-clock seconds, where it timed the whole run, replace pretraining + game
  rows[0]["wall_seconds"] = 400.0
  text = "\n".join(grid_report._seed_cost_lines(rows))  # pylint: disable=protected-access
  assert "| honest | 500 | 1 | 1,200 (1,200 – 1,200) | seed 1: 2, 250 |" in text
