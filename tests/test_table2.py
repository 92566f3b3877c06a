"""`run.sh table2-corel5k --quick` end to end on generated Corel5k-like data: trains, reports,
resumes without training again, and regenerates the report from the archived records."""
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
  again = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
  assert again.returncode == 0 and ": done" not in again.stdout
  # A checkout without runs/ gets the finished runs back from the records: nothing retrained.
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
