"""Gin configuration files: where bare names are looked up, and parsing with clear errors.

Shared by the command lines (train.py, reproduce.py); defines no flags.
"""
import os
import sys

import gin

from kdgan_tf import config_checks
from kdgan_tf.errors import UserError

GIN_CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "gin_configs")


def resolve_gin_file(name):
  """Path of a gin file given as a path or as a bare name in gin_configs/."""
  for candidate in (name, os.path.join(GIN_CONFIG_DIR, name)):
    if os.path.isfile(candidate):
      return candidate
  raise UserError(f"gin file {name!r} not found here or in {GIN_CONFIG_DIR}.")


def parse_config(gin_files, gin_bindings):
  """Parses gin files and bindings, then checks every bound number's type and range
  (config_checks.py); a bad name or value becomes a UserError."""
  from kdgan_tf import experiment  # noqa: F401  pylint: disable=g-import-not-at-top  (registers)
  main = getattr(sys.modules.get("__main__"), "__spec__", None)
  if getattr(main, "name", None) != "kdgan_tf.tagrec.evaluate":  # run as __main__: registered
    from kdgan_tf.tagrec import evaluate  # noqa: F401  pylint: disable=g-import-not-at-top
  # gin_configs/ first, so that `include 'tagrec.gin'` in a shipped file finds its sibling
  # without gin first trying (and logging an error for) the working directory.
  prefixes = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
  if GIN_CONFIG_DIR not in prefixes:
    prefixes.insert(0, GIN_CONFIG_DIR)
  paths = [resolve_gin_file(f) for f in gin_files]
  try:
    gin.parse_config_files_and_bindings(paths, gin_bindings)
  except Exception as e:  # gin raises ValueError/KeyError/SyntaxError-like errors
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise UserError(f"bad gin configuration: {message} (check the names against "
                    "gin_configs/*.gin and the docstrings they cite).") from e
  config_checks.check_bindings()
