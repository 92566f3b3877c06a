"""Claims on run folders: one worker per run, dead workers' claims taken over, and the count of
other runs in progress that tells whether a run's wall-clock was measured alone."""
import json
import os
import subprocess
import sys
import time

import pytest

from kdgan_tf import claims


def _claim_file(folder, host, pid, age_seconds=0.0):
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, claims.CLAIM_FILE)
  with open(path, "w") as f:
    json.dump({"host": host, "pid": pid}, f)
  then = time.time() - age_seconds
  os.utime(path, (then, then))
  return path


def _dead_pid():
  process = subprocess.Popen([sys.executable, "-c", "pass"])
  process.wait()
  return process.pid


def test_one_holder_at_a_time_and_released_on_exit(tmp_path):
  run = str(tmp_path / "grid" / "honest" / "mnist_n100" / "kdgan_s0")
  with claims.Claim(run, str(tmp_path / "grid")) as first:
    assert first.held and os.path.exists(os.path.join(run, claims.CLAIM_FILE))
    with claims.Claim(run, str(tmp_path / "grid")) as second:
      assert not second.held and second.max_others is None
    assert os.path.exists(os.path.join(run, claims.CLAIM_FILE))  # the loser removed nothing
  assert not os.path.exists(os.path.join(run, claims.CLAIM_FILE))
  assert first.max_others == 0


def test_dead_or_stale_claims_are_taken_over_live_ones_are_not(tmp_path):
  grid = str(tmp_path / "grid")
  here = claims._host()  # pylint: disable=protected-access
  cases = [("dead_pid_here", here, _dead_pid(), 0.0, True),
           ("my_pid_left_by_a_dead_worker", here, os.getpid(), 0.0, True),
           ("live_pid_here", here, os.getppid(), 0.0, False),
           ("fresh_elsewhere", "another-machine", 1, 5.0, False),
           ("stale_elsewhere", "another-machine", 1, claims.STALE_SECONDS + 5, True)]
  for name, host, pid, age, taken in cases:
    folder = os.path.join(grid, "p", "c", name)
    _claim_file(folder, host, pid, age)
    with claims.Claim(folder, grid) as claim:
      assert claim.held == taken, name


def test_other_runs_in_progress_are_counted_while_held(tmp_path):
  grid = str(tmp_path / "grid")
  _claim_file(os.path.join(grid, "honest", "mnist_n100", "mimic_s0"), "another-machine", 1)
  _claim_file(os.path.join(grid, "honest", "mnist_n100", "old_s0"), "another-machine", 1,
              claims.STALE_SECONDS + 5)
  with claims.Claim(os.path.join(grid, "honest", "mnist_n100", "kdgan_s0"), grid,
                    heartbeat_seconds=0.05) as claim:
    path = claim.path
    long_ago = time.time() - 100
    os.utime(path, (long_ago, long_ago))
    time.sleep(0.3)
    assert os.path.getmtime(path) > long_ago + 50  # the heartbeat keeps touching it
    # 0: the other machine's fresh claim does not share this CPU; the stale one is no run
    assert claim.max_others == 0
  assert not os.path.exists(path)
  here = claims._host()  # pylint: disable=protected-access
  _claim_file(os.path.join(grid, "honest", "mnist_n100", "codis_s0"), here, os.getppid())
  with claims.Claim(os.path.join(grid, "honest", "mnist_n100", "kdgan_s0"), grid) as claim:
    assert claim.max_others == 1  # a live worker on this machine
  # The machine's load is sampled with the claims (every process counts, not only the grid's).
  if hasattr(os, "getloadavg"):
    assert claim.max_load == pytest.approx(os.getloadavg()[0], abs=5.0) and claim.max_load >= 0


def test_a_half_written_claim_is_not_live(tmp_path):
  folder = tmp_path / "r"
  folder.mkdir()
  (folder / claims.CLAIM_FILE).write_text("{\"host\": ")
  assert not claims.is_live(str(folder / claims.CLAIM_FILE))


def test_a_claim_taken_over_meanwhile_is_not_removed_by_its_old_holder(tmp_path):
  grid = str(tmp_path / "grid")
  folder = os.path.join(grid, "p", "c", "r")
  with claims.Claim(folder, grid) as claim:
    assert claim.held
    path = _claim_file(folder, "another-machine", 1)  # taken over (e.g. we were paused)
  assert os.path.exists(path) and claims.read_holder(path)["host"] == "another-machine"


def test_malformed_claims_are_not_live(tmp_path):
  for text in ("[1, 2]", "{\"host\": \"h\", \"pid\": null}", "{\"host\": \"h\"}"):
    (tmp_path / claims.CLAIM_FILE).write_text(text)
    assert not claims.is_live(str(tmp_path / claims.CLAIM_FILE)), text
