"""Files written into model_dir, always atomically (write a temporary file, then rename), so a
killed run never leaves a half-written metrics.json or weights file."""
import csv
import io
import json
import math
import os


def atomic_write_text(path, text):
  tmp = f"{path}.tmp"
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
