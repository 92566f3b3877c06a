"""Claims on run folders, so that several reproduce workers (processes on one machine, or
machines sharing a disk) can work through one grid without ever training the same run twice at
once: a worker trains a run only while it holds the run's claim, and skips (then waits for) a
run whose claim another live worker holds.

A claim is a small file in the run folder, published atomically complete (written to a private
file, then hard-linked to its name, which fails if the name exists) and touched by a heartbeat
thread while the run trains. It is live while it is fresh (touched within STALE_SECONDS) and,
on the machine that wrote it, while its process exists and is not this very process (a
restarted container can give a new worker the dead one's pid). A claim left by a killed worker
is therefore taken over: at once on the same machine, after STALE_SECONDS from another one or
after a restart under another host name. Two workers that find the same dead claim at the same
instant could both take it over; a live claim is never taken.

While it holds a claim, a worker also counts the other live claims OF THIS MACHINE under the
grid's folder: that tells whether a run's wall-clock was measured beside other runs of the grid
sharing the CPU (processes outside the grid are not seen).
"""
import glob
import json
import os
import socket
import threading
import time
import uuid

CLAIM_FILE = "worker.claim"
HEARTBEAT_SECONDS = 60.0
STALE_SECONDS = 600.0

_HELD_HERE = set()  # claim paths this process holds now


def _host():
  return socket.gethostname()


def _load_average():
  """The 1-minute load average (runnable threads of every process), or None (Windows)."""
  try:
    return round(os.getloadavg()[0], 2)
  except (AttributeError, OSError):
    return None


def _process_exists(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # exists, owned by someone else
    return True
  return True


def read_holder(path):
  """The claim's {host, pid, token} dict, or None if missing, half-written or malformed."""
  try:
    with open(path) as f:
      holder = json.load(f)
  except (OSError, ValueError):
    return None
  if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int):
    return None
  return holder


def is_live(path, now=None):
  """Whether the claim file at `path` is held by a live worker (see the module docstring)."""
  holder = read_holder(path)
  try:
    age = (time.time() if now is None else now) - os.path.getmtime(path)
  except OSError:
    return False
  if holder is None or age > STALE_SECONDS:
    return False
  if holder.get("host") == _host():
    if holder["pid"] == os.getpid():
      return path in _HELD_HERE  # else a dead worker's claim that had this pid
    return _process_exists(holder["pid"])
  return True


def live_claims(runs_dir, exclude=None, host=None):
  """Paths of the live claims in runs_dir/<protocol>/<cell>/<run>/, except `exclude`; only
  those written on `host` if given."""
  paths = glob.glob(os.path.join(glob.escape(runs_dir), "*", "*", "*", CLAIM_FILE))
  return [p for p in sorted(paths) if p != exclude and is_live(p)
          and (host is None or (read_holder(p) or {}).get("host") == host)]


class Claim:
  """Context manager over one run folder: `held` is False when another live worker has it.

  with Claim(model_dir, runs_dir) as claim:
    if claim.held: ...train...
  claim.max_others: the most other live claims of this machine seen at any sample (start,
  every heartbeat, end) while it was held; None if never held.
  claim.max_load: the highest 1-minute load average of the machine at those samples (every
  process counts, also those of other grids); None where the OS does not report it.
  """

  def __init__(self, model_dir, runs_dir, heartbeat_seconds=HEARTBEAT_SECONDS):
    self.path = os.path.join(model_dir, CLAIM_FILE)
    self.runs_dir = runs_dir
    self.heartbeat_seconds = heartbeat_seconds
    self.held = False
    self.max_others = None
    self.max_load = None
    self._token = uuid.uuid4().hex
    self._stop = threading.Event()
    self._thread = None

  def _create(self):
    """Publishes the claim complete, or returns False if a claim file exists."""
    private = f"{self.path}.{self._token}"
    with open(private, "w") as f:
      json.dump({"host": _host(), "pid": os.getpid(), "token": self._token}, f)
    try:
      os.link(private, self.path)
      return True
    except FileExistsError:
      return False
    finally:
      os.remove(private)

  def _mine(self):
    return (read_holder(self.path) or {}).get("token") == self._token

  def _sample(self):
    others = len(live_claims(self.runs_dir, exclude=self.path, host=_host()))
    self.max_others = others if self.max_others is None else max(self.max_others, others)
    load = _load_average()
    if load is not None:
      self.max_load = load if self.max_load is None else max(self.max_load, load)

  def _beat(self):
    while not self._stop.wait(self.heartbeat_seconds):
      try:
        if self._mine():
          os.utime(self.path)
        self._sample()
      except OSError:
        pass  # a vanished folder must not end the heartbeat

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
      _HELD_HERE.add(self.path)
      self._sample()
      self._thread = threading.Thread(target=self._beat, daemon=True)
      self._thread.start()
    return self

  def __exit__(self, *exc):
    if self.held:
      self._stop.set()
      self._thread.join()
      self._sample()
      _HELD_HERE.discard(self.path)
      if self._mine():  # never remove a claim another worker took over meanwhile
        try:
          os.remove(self.path)
        except FileNotFoundError:
          pass
    return False
