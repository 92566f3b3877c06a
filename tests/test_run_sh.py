"""run.sh installs whenever .venv cannot run the project, and is silent and fast when it can.

No network: a stub `pip` records what run.sh asks it to do. The checkout copies hold a
kdgan_tf/ package folder, so `import kdgan_tf` from their root succeeds without any dependency
(the case that made the old run.sh skip its install).
"""
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO

STUB_PIP = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/pip_calls.txt"
"""


def _checkout(tmp_path, link_package):
  root = tmp_path / "checkout"
  (root / "kdgan_tf").parent.mkdir(parents=True)
  shutil.copy(os.path.join(REPO, "run.sh"), root / "run.sh")
  shutil.copy(os.path.join(REPO, "requirements.txt"), root / "requirements.txt")
  if link_package:  # the installed package, so the check finds it "in this checkout"
    os.symlink(os.path.join(REPO, "kdgan_tf"), root / "kdgan_tf")
  else:  # a bare copy of the package folder: importable from the root, nothing installed
    shutil.copytree(os.path.join(REPO, "kdgan_tf"), root / "kdgan_tf",
                    ignore=shutil.ignore_patterns("__pycache__"))
  return root


def _stub_pip(venv_bin):
  pip = venv_bin / "pip"
  pip.write_text(STUB_PIP)
  pip.chmod(0o755)
  return venv_bin / "pip_calls.txt"


def _skip_unless_installed():
  try:
    importlib.metadata.distribution("kdgan-tf")
  except importlib.metadata.PackageNotFoundError:
    pytest.skip("kdgan-tf is not pip-installed in the interpreter running the tests")


def _run_install(root):
  started = time.time()
  result = subprocess.run(["bash", str(root / "run.sh"), "install"], capture_output=True,
                          text=True, timeout=120, cwd=root)
  return result, time.time() - started


def test_half_made_venv_is_installed_not_skipped(tmp_path):
  root = _checkout(tmp_path, link_package=False)
  # A venv that was made but never installed into (e.g. an interrupted first run).
  subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")],
                 check=True, timeout=120)
  calls = _stub_pip(root / ".venv" / "bin")
  check = subprocess.run([str(root / ".venv" / "bin" / "python"), "-c", "import kdgan_tf"],
                         cwd=root, capture_output=True)
  assert check.returncode == 0  # the old check would have been fooled
  result, _ = _run_install(root)
  assert calls.exists(), result.stderr
  assert "install --quiet -e .[test]" in calls.read_text()
  assert "installing kdgan-tf" in result.stderr
  # The stub installed nothing, so run.sh must say so rather than run and crash.
  assert result.returncode == 1
  assert "still cannot run kdgan-tf: kdgan-tf is not installed" in result.stderr


def test_complete_environment_is_silent_and_fast(tmp_path):
  _skip_unless_installed()
  root = _checkout(tmp_path, link_package=True)
  venv_bin = root / ".venv" / "bin"
  venv_bin.mkdir(parents=True)
  python = venv_bin / "python"  # the tests' own, complete environment
  python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
  python.chmod(0o755)
  calls = _stub_pip(venv_bin)
  result, seconds = _run_install(root)
  assert result.returncode == 0, result.stderr
  assert result.stdout == "" and result.stderr == ""
  assert not calls.exists()
  assert seconds < 10


def test_env_check_names_a_missing_requirement(tmp_path):
  _skip_unless_installed()
  root = _checkout(tmp_path, link_package=True)
  with open(root / "requirements.txt", "a") as f:
    f.write("surely-not-a-real-package-kdgan>=1.0\n")
  result = subprocess.run([sys.executable, "-I", str(root / "kdgan_tf" / "env_check.py"),
                           str(root)], capture_output=True, text=True, timeout=60)
  assert result.returncode == 1
  assert "surely-not-a-real-package-kdgan>=1.0 is not installed" in result.stdout
