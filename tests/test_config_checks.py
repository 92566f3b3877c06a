"""Every gin-bound number is checked for type and range in one place (kdgan_tf/config_checks.py)
before any work starts, and a bad one is answered by one sentence naming the binding."""
import glob
import inspect
import os

import gin
import pytest

from conftest import REPO, run_cli
from kdgan_tf import config_checks
from kdgan_tf.config import parse_config
from kdgan_tf.errors import UserError
from kdgan_tf.tagrec import evaluate


def _register_everything():
  evaluate._parse([], [])  # pylint: disable=protected-access  (imports every configurable)


def _bad_values(rule):
  """Wrong type, and just outside each bound (zero / negative where the range excludes them)."""
  bad = ["x"]
  if rule.kind == "bool":
    return bad + [1, None]
  if rule.kind == "ints":
    return bad + [(1.5,), (rule.low - 1,)]
  if rule.kind == "floats":
    return bad + [("x",), (True,), (rule.low if rule.open_low else rule.low - 1,)]
  if rule.kind == "int":
    bad.append(1.5)
  if rule.low is not None:
    bad.append(rule.low if rule.open_low else rule.low - 1)
  if rule.high is not None:
    bad.append(rule.high if rule.open_high else rule.high + 1)
  if rule.kind == "float":
    bad.append(True)
  return bad


def _cases():
  for key, rule in sorted(config_checks.RULES.items()):
    scope = "teacher/" if key.startswith("player_settings.") else ""
    for value in _bad_values(rule):
      if value is None and key in config_checks.NONE_ALLOWED:
        continue
      yield pytest.param(f"{scope}{key}", value, id=f"{key}={value!r}")


@pytest.mark.parametrize("binding,value", list(_cases()))
def test_bad_value_is_one_sentence_naming_the_binding(binding, value):
  _register_everything()
  gin.clear_config()
  try:
    with pytest.raises(UserError) as error:
      parse_config([], [f"{binding} = {value!r}"])
    message = str(error.value)
    assert message.startswith(f"gin binding {binding} = {value!r} is invalid: it must be ")
    assert "\n" not in message and message.count(". ") == 0 and message.endswith(".")
  finally:
    gin.clear_config()


# Through the command line: one type error and one range error (each kind of rule is checked
# in-process above; a CLI start costs ~5 s of the suite's budget).
@pytest.mark.parametrize("binding", ['KDGAN.alpha = "x"', "run_experiment.batch_size = 0"])
def test_cli_answers_a_bad_number_with_one_line_and_exit_2(tmp_path, binding):
  result = run_cli(["--gin_file=mnist.gin", f"--gin_bindings={binding}",
                    f"--model_dir={tmp_path / 'run'}"], timeout=120)
  assert result.returncode == 2, result.stderr[-2000:]
  lines = [l for l in result.stderr.splitlines() if l.startswith("kdgan_tf")]
  assert len(lines) == 1 and lines[0].startswith("kdgan_tf: error: gin binding "), result.stderr
  assert "Traceback" not in result.stderr
  assert not (tmp_path / "run").exists()  # rejected before any work started


def test_good_values_pass_and_macros_are_resolved():
  gin.clear_config()
  try:
    parse_config(["mnist.gin"], ["KDGAN.alpha = 1", "teacher/player_settings.pretrain_patience"
                                 " = None"])
    gin.clear_config()
    with pytest.raises(UserError, match=r"KDGAN.alpha = 3.0 is invalid"):
      parse_config([], ["ALPHA = 3.0", "KDGAN.alpha = %ALPHA"])
  finally:
    gin.clear_config()


def _is_number_like(value):
  if isinstance(value, (tuple, list)):
    return bool(value) and all(_is_number_like(v) for v in value)
  return isinstance(value, (bool, int, float))


@pytest.mark.parametrize("name", sorted(os.path.basename(p) for p in glob.glob(
    os.path.join(REPO, "gin_configs", "*.gin"))))
def test_every_number_a_shipped_gin_file_binds_has_a_rule(name):
  _register_everything()
  gin.clear_config()
  try:
    gin.add_config_file_search_path(os.path.join(REPO, "gin_configs"))
    gin.parse_config_files_and_bindings([os.path.join(REPO, "gin_configs", name)], [])
    unchecked = [shown for shown, key, value in config_checks.bound_values()
                 if _is_number_like(value) and key not in config_checks.RULES]
    assert not unchecked, f"add rules to kdgan_tf/config_checks.py for {unchecked}"
  finally:
    gin.clear_config()


def test_every_rule_names_a_real_parameter():
  _register_everything()
  registry = gin.config._REGISTRY  # pylint: disable=protected-access
  for key in config_checks.RULES:
    configurable, param = key.split(".")
    target = registry.get_match(configurable).wrapped
    functions = ([c.__init__ for c in inspect.getmro(target) if "__init__" in vars(c)]
                 if inspect.isclass(target) else [target])  # **kwargs pass to a base class
    assert any(param in inspect.signature(f).parameters for f in functions), key


def test_describe_reads_like_the_rule():
  assert config_checks.describe(config_checks.FRACTION) == "a number in [0, 1]"
  assert config_checks.describe(config_checks.POSITIVE_INT) == "an integer >= 1"
  assert config_checks.describe(config_checks.POSITIVE) == "a number > 0"
  assert config_checks.describe(config_checks.DROPOUT) == "a number in [0, 1)"
  plateau = config_checks.RULES["player_settings.pretrain_plateau_learning_rates"]
  assert config_checks.describe(plateau) == "a tuple of numbers each > 0"
