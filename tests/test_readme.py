"""README's runnable commands run, and every relative link in README and docs/ resolves.

A code block right after a `<!-- runnable -->` line is run command by command, in a fresh
folder, as a user would paste it, with two changes that keep it offline and short: `python` is
this interpreter, and a `kdgan_tf.train` command also gets tiny_smoke.gin and the tests' tiny
generated MNIST (never ../shared). Files a command names but no earlier command writes
(`my_digit.png`) are the user's own inputs: the test writes them.
"""
import glob
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, TINY_GIN

README = os.path.join(REPO, "README.md")
USER_INPUTS = {"my_digit.png"}


def runnable_commands(text):
  """The commands of every code block that follows a `<!-- runnable -->` marker."""
  commands = []
  for block in re.findall(r"<!-- runnable -->\s*```bash\n(.*?)```", text, flags=re.S):
    for line in block.splitlines():
      line = line.split(" #", 1)[0].strip()
      if line and not line.startswith("#"):
        commands.append(line)
  return commands


def _write_user_inputs(folder):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  digit = np.zeros((28, 28, 1), np.uint8)
  digit[4:10, 1:5] = 255  # the tiny data's class 0: a bright square at the top left
  tf.io.write_file(os.path.join(folder, "my_digit.png"), tf.io.encode_png(digit))


def test_readme_has_runnable_commands_and_stays_short():
  text = open(README).read()
  commands = runnable_commands(text)
  assert any("kdgan_tf.train" in c for c in commands)
  assert any("kdgan_tf.export" in c for c in commands)
  assert any("kdgan_tf.predict" in c for c in commands)
  assert len(text.splitlines()) <= 250, "README is for users: move analysis to docs/"


def test_readme_runnable_commands_run(tmp_path, tiny_npz):
  _write_user_inputs(tmp_path)
  env = dict(os.environ, PYTHONPATH=REPO)
  for command in runnable_commands(open(README).read()):
    args = shlex.split(command)
    assert args[0] == "python", f"runnable README commands start with `python`: {command}"
    args[0] = sys.executable
    if "kdgan_tf.train" in args:
      args += [f"--gin_file={TINY_GIN}",
               f"--gin_bindings=load_image_classification.original_order_npz = '{tiny_npz}'"]
    for name in USER_INPUTS & set(args):
      assert (tmp_path / name).exists()
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    if "kdgan_tf.predict" in args:
      # one line per input: "<file>: <label> (<probability>), ..." (tiny data: ids 0-9)
      assert re.search(r"my_digit\.png: \d \(\d\.\d{4}\)", done.stdout), done.stdout


def _relative_links(path):
  text = open(path).read()
  for target in re.findall(r"\]\(([^)\s]+)\)", text):
    if not re.match(r"[a-z]+:", target) and not target.startswith("#"):
      yield target.split("#", 1)[0]


@pytest.mark.parametrize("path", [README] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md"))),
                         ids=os.path.basename)
def test_relative_links_resolve(path):
  missing = [t for t in _relative_links(path)
             if not os.path.exists(os.path.join(os.path.dirname(path), t))]
  assert not missing, f"{os.path.relpath(path, REPO)} links to missing files: {missing}"
