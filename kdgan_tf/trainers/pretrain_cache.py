"""A cache of pretrained players, so every method of a comparison starts from the same players
and a second method on the same data and seed never pretrains again.

An entry is keyed by everything that determines the pretrained weights: the data (fingerprint
of the training subset and validation split, hence dataset and n), the seed, the player's role,
its architecture (layer classes and configurations, layer names excluded because Keras numbers
them per process) and its pretraining settings (epochs, learning rate, batch size, patience,
augmentation). Change any of them and the key changes, so a stale entry is never used.

Layout: `<cache_dir>/<player>-<key>/{pretrained.weights.h5, entry.json}`. An entry is published
by renaming a finished temporary folder, so a killed run never leaves a half-written entry, and
two runs racing to publish the same key keep the first one.
"""
import hashlib
import json
import os
import shutil
import tempfile

from kdgan_tf import outputs

_VERSION = 1  # bump when the pretraining procedure changes in a way the key cannot see
WEIGHTS = "pretrained.weights.h5"
ENTRY = "entry.json"


def architecture_signature(model):
  """The model's layers as (class, config without names) plus its weight shapes."""
  layers = []
  for layer in model.layers:
    if hasattr(layer, "layers"):  # a nested model (e.g. behind an input-normalisation layer):
      # its config names its layers, which Keras numbers per process, so recurse instead.
      layers.append([type(layer).__name__, architecture_signature(layer)["layers"]])
      continue
    config = {k: v for k, v in layer.get_config().items() if k != "name"}
    layers.append([type(layer).__name__, config])
  shapes = [list(w.shape) for w in model.weights]
  return {"layers": layers, "weight_shapes": shapes}


def cache_key(player, model, seed, data_fingerprint, settings):
  """The fields that determine a pretrained player, and their hash."""
  fields = {"version": _VERSION, "player": player, "seed": int(seed),
            "data_fingerprint": data_fingerprint, "settings": settings,
            "architecture": architecture_signature(model)}
  text = json.dumps(fields, sort_keys=True, default=str)
  return fields, hashlib.sha1(text.encode()).hexdigest()[:20]


class PretrainCache:
  """Look-up and publication of pretrained players in `cache_dir`."""

  def __init__(self, cache_dir):
    self.cache_dir = cache_dir

  def _folder(self, player, key):
    return os.path.join(self.cache_dir, f"{player}-{key}")

  def lookup(self, player, key):
    """(weights path, entry dict) of a published entry, or None."""
    folder = self._folder(player, key)
    weights, entry = os.path.join(folder, WEIGHTS), os.path.join(folder, ENTRY)
    if os.path.exists(weights) and os.path.exists(entry):
      return weights, outputs.read_json(entry)
    return None

  def publish(self, player, key, fields, weights_path, info):
    """Copies a finished pretraining into the cache (no-op if the key is already there)."""
    folder = self._folder(player, key)
    if os.path.exists(folder):
      return folder
    os.makedirs(self.cache_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{player}-{key}-", dir=self.cache_dir)
    try:
      shutil.copyfile(weights_path, os.path.join(tmp, WEIGHTS))
      outputs.write_json(os.path.join(tmp, ENTRY), {"key": key, "fields": fields, "info": info})
      os.rename(tmp, folder)
    except OSError:
      if not os.path.exists(folder):
        raise
    finally:
      shutil.rmtree(tmp, ignore_errors=True)
    return folder
