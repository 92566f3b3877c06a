"""Files written into model_dir, always atomically (write a temporary file, then rename), so a
killed run never leaves a half-written metrics.json or weights file."""
import contextlib
import csv
import io
import json
import math
import os
import threading

try:
  import fcntl
except ImportError:  # Windows: no advisory locks; see `locked`
  fcntl = None


def atomic_write_text(path, text):
  # The temporary name is the writer's own, so two processes writing one file (two grid
  # workers ending at once) never interleave in a shared temporary file.
  tmp = f"{path}.{os.getpid()}-{threading.get_ident()}.tmp"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


def _clean(value):
  """JSON has no NaN/inf: write them as null."""
  if isinstance(value, float) and not math.isfinite(value):
    return None
  if isinstance(value, dict):
    return {k: _clean(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_clean(v) for v in value]
  return value


def write_json(path, obj):
  atomic_write_text(path, json.dumps(_clean(obj), indent=2, sort_keys=False) + "\n")


def write_csv(path, rows, fields=None):
  """Rows (dicts) as CSV; columns `fields`, else every key in order of first appearance."""
  if fields is None:
    fields = []
    for row in rows:
      fields += [k for k in row if k not in fields]
  buffer = io.StringIO()
  writer = csv.DictWriter(buffer, fieldnames=fields)
  writer.writeheader()
  writer.writerows(rows)
  atomic_write_text(path, buffer.getvalue())


@contextlib.contextmanager
def locked(path):
  """Holds an exclusive lock on `path`.lock for a read-modify-write of `path` shared by several
  processes (failures.json of grid workers). Where fcntl is missing (Windows) it does not lock:
  run one worker per grid there."""
  if fcntl is None:
    yield
    return
  with open(f"{path}.lock", "a") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(handle, fcntl.LOCK_UN)


def read_json(path, default=None):
  if not os.path.exists(path):
    return default
  with open(path) as f:
    return json.load(f)


def save_weights_atomic(model, path):
  """Keras insists on the `.weights.h5` suffix, so the temporary name keeps it."""
  tmp = path[: -len(".weights.h5")] + ".tmp.weights.h5"
  model.save_weights(tmp)
  os.replace(tmp, path)
