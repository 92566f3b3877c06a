"""`run.sh table2-corel5k --quick` end to end on generated Corel5k-like data: trains, reports,
restores its finished runs from the records without training again, and regenerates the report
from the archived records."""
import os
import subprocess

from conftest import REPO
from tagrec_fixtures import write_corel_like_npz


def test_table2_quick_end_to_end(tmp_path):
  path = write_corel_like_npz(str(tmp_path / "corel.npz"), train=120, test=30)
  runs_dir = tmp_path / "grid"
  args = ["bash", os.path.join(REPO, "run.sh"), "table2-corel5k", "--quick", "--seeds=2",
          "--methods=kdgan,supervised_c,nagan", "--baselines=knn,tprop",
          f"--runs_dir={runs_dir}", f"--gin_bindings=load_corel5k.path = '{path}'",
          "--gin_bindings=load_corel5k.validation_size = 20",
          "--gin_bindings=run_experiment.batch_size = 10", "--figure5_seeds=1"]
  first = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
  assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
  assert first.stdout.count(": done") == 6 + 3  # the grid, then one sweep point per weight
  results = runs_dir / "results"
  report = (results / "REPORT.md").read_text()
  assert "QUICK SMOKE RUN" in report and "no column here" in report
  for name in ("KDGAN", "SUPERVISED-C", "NaGAN"):
    line = next(l for l in report.splitlines() if l.startswith(f"| {name} |"))
    assert line.count("(2)") == 8, line  # 8 measures, 2 seeds each
  assert "deterministic: one fit" in next(l for l in report.splitlines()
                                          if l.startswith("| KNN |"))
  assert "| KDGAN minus | P@3 |" in report and "| SUPERVISED-C |" in report
  assert "D's best loss given w (and u)" in report and "| 1 |" in report
  assert "| alpha | 0.5 * |" in report and "| beta | 10 |" in report
  for name in ("table2.csv", "fig3b_p3_per_epoch.png", "fig3b_p3_per_epoch.csv",
               "fig5_weights_p3.png", "fig5_weights_p3.csv"):
    assert (results / name).exists(), name
  assert (results / "records" / "kdgan_s1" / "metrics.json").exists()
  assert (results / "records" / "baselines" / "tprop_s0.json").exists()
  # A checkout without runs/ gets the finished runs back from the records, and the call that
  # restores them trains nothing (so it also checks that finished runs are skipped).
  import shutil  # pylint: disable=g-import-not-at-top
  shutil.move(str(results), str(tmp_path / "kept_results"))
  shutil.rmtree(runs_dir)
  shutil.move(str(tmp_path / "kept_results"), str(results))
  restored = subprocess.run(args + [f"--results_dir={results}"], capture_output=True, text=True,
                            timeout=600, cwd=REPO)
  assert restored.returncode == 0, restored.stderr[-2000:]
  assert "restored" in restored.stdout and ": done" not in restored.stdout
  only = subprocess.run(args + ["--report_only"], capture_output=True, text=True, timeout=600,
                        cwd=REPO)
  assert only.returncode == 0, only.stderr[-2000:]
  assert (results / "REPORT.md").read_text().split("## Table 2", 1)[1] == report.split(
      "## Table 2", 1)[1]


def test_table2_report_renders_the_appendix_d_table_of_its_dataset(tmp_path, monkeypatch):
  """A compression table in <appendix_d>/<dataset>_n<n>/ becomes Table 2's Appendix D section
  (not in a quick report, nor for another dataset)."""
  import json  # pylint: disable=g-import-not-at-top
  from kdgan_tf import table2_report  # pylint: disable=g-import-not-at-top
  row = {"player": "classifier", "role": "C (deployed)", "parameters": 1000, "views": ["image"],
         "keras_P@3": 0.25, "float32_bytes": 4000, "float32_latency_ms": 0.05,
         "float32_P@3": 0.25, "int8_bytes": 1000, "int8_latency_ms": 0.02, "int8_P@3": 0.24,
         "parameter_ratio_vs_teacher": 0.5}
  folder = tmp_path / "appendix_d" / "tags_n40"
  folder.mkdir(parents=True)
  (folder / "compression_table.json").write_text(json.dumps(
      {"metric": "P@3", "num_threads": 1, "rows": [row],
       "measured": {"dataset": "tags", "n": 40, "seed": 0, "method": "kdgan"}}))
  monkeypatch.setattr(table2_report, "APPENDIX_D_DIR", str(tmp_path / "nothing"))
  assert "Appendix D" not in table2_report.write(str(tmp_path / "n"), "tags", {}, {}, {}, "cmd",
                                                 quick=False)
  monkeypatch.setattr(table2_report, "APPENDIX_D_DIR", str(tmp_path / "appendix_d"))
  text = table2_report.write(str(tmp_path / "r"), "tags", {}, {}, {}, "cmd", quick=False)
  assert "## Appendix D: the deployed classifier beside its teacher (tags, n = 40)" in text
  assert "| C (deployed) | 1,000 |" in text
  assert "Appendix D" not in table2_report.write(str(tmp_path / "q"), "tags", {}, {}, {}, "cmd",
                                                 quick=True)
  assert "Appendix D" not in table2_report.write(str(tmp_path / "o"), "other", {}, {}, {}, "cmd",
                                                 quick=False)
