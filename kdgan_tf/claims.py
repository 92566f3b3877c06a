"""Claims on run folders, so that several reproduce workers (processes on one machine, or
machines sharing a disk) can work through one grid without ever training the same run twice at
once: a worker trains a run only while it holds the run's claim, and skips a run whose claim
another live worker holds.

A claim is a small file in the run folder, created atomically (O_EXCL) and touched by a
heartbeat thread while the run trains. It is live while it is fresh (touched within
STALE_SECONDS) and, on the machine that wrote it, while its process exists; a claim left by a
killed worker is therefore taken over (at once on the same machine, after STALE_SECONDS from
another one), so an interrupted grid always resumes. (Two workers that find the same dead claim
at the same instant could both take it over; a live claim is never taken.)

While it holds a claim, a worker also counts the other live claims under the grid's folder.
That tells whether a run's wall-clock was measured alone or beside other runs sharing the CPU.
"""
import glob
import json
import os
import socket
import threading
import time

CLAIM_FILE = "worker.claim"
HEARTBEAT_SECONDS = 60.0
STALE_SECONDS = 600.0


def _host():
  return socket.gethostname()


def _process_exists(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # exists, owned by someone else
    return True
  return True


def is_live(path, now=None):
  """Whether the claim file at `path` is held by a live worker (see the module docstring)."""
  try:
    with open(path) as f:
      holder = json.load(f)
    age = (time.time() if now is None else now) - os.path.getmtime(path)
  except (OSError, ValueError):
    return False  # gone, or half-written by a worker killed while writing it: not a claim
  if age > STALE_SECONDS:
    return False
  if holder.get("host") == _host():
    return _process_exists(int(holder.get("pid", -1)))
  return True


def live_claims(runs_dir, exclude=None):
  """Paths of the live claims in runs_dir/<protocol>/<cell>/<run>/, except `exclude`."""
  paths = glob.glob(os.path.join(glob.escape(runs_dir), "*", "*", "*", CLAIM_FILE))
  return [p for p in sorted(paths) if p != exclude and is_live(p)]


class Claim:
  """Context manager over one run folder: `held` is False when another live worker has it.

  with Claim(model_dir, runs_dir) as claim:
    if claim.held: ...train...
  claim.max_others: the most other live claims seen at any sample (start, every heartbeat,
  end) while it was held; None if never held.
  """

  def __init__(self, model_dir, runs_dir, heartbeat_seconds=HEARTBEAT_SECONDS):
    self.path = os.path.join(model_dir, CLAIM_FILE)
    self.runs_dir = runs_dir
    self.heartbeat_seconds = heartbeat_seconds
    self.held = False
    self.max_others = None
    self._stop = threading.Event()
    self._thread = None

  def _create(self):
    try:
      fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
      return False
    with os.fdopen(fd, "w") as f:
      json.dump({"host": _host(), "pid": os.getpid(), "since": time.time()}, f)
    return True

  def _sample(self):
    others = len(live_claims(self.runs_dir, exclude=self.path))
    self.max_others = others if self.max_others is None else max(self.max_others, others)

  def _beat(self):
    while not self._stop.wait(self.heartbeat_seconds):
      try:
        os.utime(self.path)
        self._sample()
      except OSError:
        pass  # a vanished folder must not kill the training thread's process

  def __enter__(self):
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    self.held = self._create()
    if not self.held and not is_live(self.path):
      try:
        os.remove(self.path)  # a dead worker's claim
      except FileNotFoundError:
        pass
      self.held = self._create()
    if self.held:
      self._sample()
      self._thread = threading.Thread(target=self._beat, daemon=True)
      self._thread.start()
    return self

  def __exit__(self, *exc):
    if self.held:
      self._stop.set()
      self._thread.join()
      self._sample()
      try:
        os.remove(self.path)
      except FileNotFoundError:
        pass
    return False
