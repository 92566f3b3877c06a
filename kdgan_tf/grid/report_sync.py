"""Copies of generated tables into other files: REPORT.md's Table 1 into README between its
markers, and every other paper dataset's Table 1 (CIFAR-10, the right half) into the root
REPORT.md from that dataset's committed records.

Why apart: kdgan_tf.grid.report writes one grid's report; this keeps the files that quote it
in step with it, so no file shows numbers that a report does not.
"""
import os

from kdgan_tf import grid_datasets
from kdgan_tf import outputs
from kdgan_tf.grid.definition import REPO
from kdgan_tf.grid.report import PAPER_NS
from kdgan_tf.grid.report import shown_dataset_name
from kdgan_tf.grid.report import table1_lines
from kdgan_tf.grid.rows import collect
from kdgan_tf.summarize import load_paper_table1


README_TABLE_MARKERS = ("<!-- Table 1 from REPORT.md: written by `python -m kdgan_tf.reproduce "
                        "report`, do not edit by hand -->", "<!-- end of Table 1 -->")


def update_readme_table(readme_path, report_text):
  """Copies REPORT.md's Table 1 between README's two markers (README_TABLE_MARKERS), so the
  README never shows other numbers than the report. Returns False, README untouched, when it
  lacks the markers or the report has no table."""
  begin, end = README_TABLE_MARKERS
  table = []
  for line in report_text.splitlines():
    if line.startswith("| method |") or (table and line.startswith("|")):
      table.append(line)
    elif table:
      break
  readme = open(readme_path, encoding="utf-8").read() if os.path.exists(readme_path) else ""
  if not table or begin not in readme or end not in readme.split(begin, 1)[1]:
    return False
  head, rest = readme.split(begin, 1)
  tail = rest.split(end, 1)[1]
  outputs.atomic_write_text(readme_path, head + begin + "\n\n" + "\n".join(table) + "\n\n"
                            + end + tail)  # blank lines: Markdown renders the table apart
  return True


def other_half_lines(dataset_name, results_dir):
  """The root REPORT.md's section for another dataset of Table 1 (CIFAR-10, the right half):
  its table built from the committed records in results_dir/records and a link to its full
  report, so that the root report shows the whole of Table 1 and never other numbers than
  that dataset's own report."""
  paper = load_paper_table1()
  shown = shown_dataset_name(dataset_name)
  grid = grid_datasets.DATASETS[dataset_name]
  where = os.path.relpath(results_dir, REPO) if results_dir.startswith(REPO) else results_dir
  rows = collect(os.path.join(results_dir, "records"))
  begin, end = root_half_markers(dataset_name)
  lines = [begin, f"## Table 1's other half: {shown}", "",
           f"Every section above is MNIST's. This table is built from the committed records in "
           f"`{where}/records`; cells as in MNIST's table (test accuracy in %, mean ± std "
           f"(seeds)); the paper shows - where it has no number. Authors' protocol "
           f"on {shown}: {grid.authors_text}."
           + (f" Data: {grid.data_note}" if grid.data_note else ""),
           f"The full report (KDGAN minus each method paired by seed, the teacher, D's loss, "
           f"cost per run, Appendix D): [{where}/REPORT.md]({where}/REPORT.md).", ""]
  lines += (table1_lines(rows, paper, dataset_name, quick=False) if rows else
            [f"No {shown} run has finished yet (`bash run.sh table1-{dataset_name}`)."])
  return lines + ["", end]


def root_half_markers(dataset_name):
  return (f"<!-- Table 1, {dataset_name}: written by `python -m kdgan_tf.reproduce report` from "
          f"its committed records, do not edit by hand -->", f"<!-- end of Table 1, {dataset_name} -->")


def update_root_report_halves(root_report, results_root):
  """Writes every other paper dataset's section (`other_half_lines`, from
  results_root/table1_<dataset>) into the root REPORT.md: between its markers when present,
  else at the end (every section above it is MNIST's). Called after MNIST's report (which
  rewrites the file) and after any other dataset's. Returns False when there is no report."""
  if not os.path.exists(root_report):
    return False
  text = open(root_report, encoding="utf-8").read()
  for dataset_name in PAPER_NS:
    if dataset_name == "mnist":
      continue
    section = "\n".join(other_half_lines(
        dataset_name, os.path.join(results_root, f"table1_{dataset_name}")))
    begin, end = root_half_markers(dataset_name)
    if begin in text and end in text.split(begin, 1)[1]:
      head, rest = text.split(begin, 1)
      text = head + section + rest.split(end, 1)[1]
    else:  # at the end: every section above it is MNIST's
      text = text.rstrip("\n") + "\n\n" + section + "\n"
  outputs.atomic_write_text(root_report, text)
  return True
