"""Type and range of every number that a gin file may bind, checked in one place after parsing.

Why: a bad number (`KDGAN.alpha = "x"`, `run_experiment.batch_size = 0`) must end in one
sentence naming the binding before any data is loaded or any model built, not in a TypeError or
ZeroDivisionError deep inside the loop. `check_bindings()` runs inside `config.parse_config`, so
every command line (train, reproduce, tagrec.evaluate) gets it. The constructors keep their own
checks for library callers who bypass gin.

A rule applies to a parameter under every gin scope (`teacher/player_settings.pretrain_epochs`
is checked by the rule of `player_settings.pretrain_epochs`). Values that are gin references
(`@fn`) are left to the function they name; macros (`%NAME`) are resolved and checked. A test
(tests/test_config_checks.py) fails when a shipped gin file binds a number that has no rule, so
a new gin-bound number cannot skip this table.
"""
import collections
import math

import gin

from kdgan_tf.errors import UserError

# kind: "int" | "float" | "bool" | "ints" | "floats" (a tuple/list of ints or of numbers, each
# within the range).
# low / high: bounds (None: unbounded); open_low / open_high: exclude the bound itself.
Rule = collections.namedtuple("Rule", "kind low high open_low open_high")


def _rule(kind, low=None, high=None, open_low=False, open_high=False):
  return Rule(kind, low, high, open_low, open_high)


COUNT = _rule("int", 0)             # passes, seeds, epochs that may be zero
POSITIVE_INT = _rule("int", 1)      # sizes, samples, epochs that must be at least one
POSITIVE = _rule("float", 0, open_low=True)
NON_NEGATIVE = _rule("float", 0)
FRACTION = _rule("float", 0, 1)                  # a weight in [0, 1]
DROPOUT = _rule("float", 0, 1, open_high=True)   # a rate in [0, 1)
FLAG = _rule("bool")
LAYER_SIZES = _rule("ints", 1)

RULES = {
    # experiment (kdgan_tf/experiment.py)
    "run_experiment.seed": COUNT,
    "run_experiment.batch_size": POSITIVE_INT,
    "run_experiment.eval_batch_size": POSITIVE_INT,
    "run_experiment.game_epochs": POSITIVE_INT,
    "run_experiment.augment": FLAG,
    "run_experiment.deterministic": FLAG,
    "run_experiment.export": FLAG,
    "run_experiment.partner_eval_every": POSITIVE_INT,
    "run_experiment.eval_every": POSITIVE_INT,
    "run_experiment.train_eval_size": POSITIVE_INT,
    "run_experiment.checkpoint_every_secs": NON_NEGATIVE,
    "run_experiment.keep_checkpoints": FLAG,
    # per-player settings (kdgan_tf/trainers/pretraining.py), under the scopes classifier/ teacher/
    # discriminator/
    "player_settings.pretrain_epochs": COUNT,
    "player_settings.pretrain_learning_rate": POSITIVE,
    "player_settings.pretrain_batch_size": POSITIVE_INT,
    "player_settings.pretrain_patience": POSITIVE_INT,
    "player_settings.pretrain_augment": FLAG,
    "player_settings.game_learning_rate": POSITIVE,
    "player_settings.pretrain_eval_every": POSITIVE_INT,
    "player_settings.pretrain_plateau_learning_rates": _rule("floats", 0, open_low=True),
    # data
    "load_image_classification.n": POSITIVE_INT,
    "load_image_classification.subset_seed": COUNT,
    "load_image_classification.validation_size": COUNT,
    "random_affine.rotation_degrees": _rule("float", 0, 180),
    "random_affine.shift_fraction": _rule("float", 0, 1, open_high=True),
    "random_affine.zoom_fraction": _rule("float", 0, 1, open_high=True),
    "pad_crop_flip.padding": COUNT,
    "load_corel5k.validation_size": POSITIVE_INT,
    "load_corel5k.seed": COUNT,
    "load_npz_dataset.validation_size": POSITIVE_INT,
    "load_npz_dataset.seed": COUNT,
    # players (kdgan_tf/models/)
    "mlp_classifier.hidden_units": _rule("ints", 1),
    "mlp_classifier.dropout_rate": DROPOUT,
    "mlp_classifier.weight_decay": NON_NEGATIVE,
    "lenet.filters": LAYER_SIZES,
    "lenet.dense_units": POSITIVE_INT,
    "lenet.dropout_rate": DROPOUT,
    "lenet.weight_decay": NON_NEGATIVE,
    "lenet.init_stddev": POSITIVE,
    "tutorial_cnn.filters": LAYER_SIZES,
    "tutorial_cnn.dense_units": LAYER_SIZES,
    "tutorial_cnn.weight_decay": NON_NEGATIVE,
    "preact_resnet.depth": _rule("int", 8),
    "preact_resnet.filters": LAYER_SIZES,
    "preact_resnet.weight_decay": NON_NEGATIVE,
    "preact_resnet.leaky_slope": NON_NEGATIVE,
    # the game (kdgan_tf/trainers/)
    "KDGAN.alpha": FRACTION,
    "KDGAN.beta": NON_NEGATIVE,
    "KDGAN.gamma": NON_NEGATIVE,
    "KDGAN.supervised_weight": NON_NEGATIVE,
    "KDGAN.num_negatives": POSITIVE_INT,
    "KDGAN.d_passes": COUNT,
    "KDGAN.t_passes": COUNT,
    "KDGAN.c_passes": COUNT,
    "NaGAN.supervised_weight": NON_NEGATIVE,
    "NaGAN.num_negatives": POSITIVE_INT,
    "NaGAN.d_passes": COUNT,
    "NaGAN.c_passes": COUNT,
    "DISTN.soft_weight": FRACTION,
    "DISTN.temperature": POSITIVE,
    "DISTN.passes": COUNT,
    "MIMIC.hard_weight": FRACTION,
    "MIMIC.passes": COUNT,
    "NOISY.dropout_ratio": DROPOUT,
    "NOISY.stddev": NON_NEGATIVE,
    "NOISY.passes": COUNT,
    "CODIS.distill_weight": NON_NEGATIVE,
    "CODIS.temperature": POSITIVE,
    "CODIS.passes": COUNT,
    "SupervisedC.passes": COUNT,
    "SupervisedT.passes": COUNT,
    "privileged_scorer.projection_units": POSITIVE_INT,
    "privileged_scorer.hidden_units": LAYER_SIZES,
    "privileged_scorer.embedding_dim": POSITIVE_INT,
    "privileged_scorer.dropout_rate": DROPOUT,
    "privileged_scorer.weight_decay": NON_NEGATIVE,
    "concat_linear_scorer.embedding_dim": POSITIVE_INT,
    "concat_linear_scorer.dropout_rate": DROPOUT,
    "concat_linear_scorer.weight_decay": NON_NEGATIVE,
    # estimators, losses, schedules
    "concrete_pathwise.num_samples": POSITIVE_INT,
    "concrete_pathwise.straight_through": FLAG,
    "concrete_score.num_samples": POSITIVE_INT,
    "concrete_score.baseline": FLAG,
    "reinforce.num_samples": POSITIVE_INT,
    "reinforce.baseline": FLAG,
    "kl_softened.temperature": POSITIVE,
    "exponential_tau.tau_start": POSITIVE,
    "exponential_tau.tau_end": POSITIVE,
    "exponential_tau.decay_epochs": COUNT,
    "constant_tau.tau": POSITIVE,
    # probes (kdgan_tf/probes.py)
    "gradient_variance_probe.num_batches": POSITIVE_INT,
    "gradient_variance_probe.batch_size": POSITIVE_INT,
    "discriminator_scores_probe.batch_size": POSITIVE_INT,
    # tag-recommendation baselines (kdgan_tf/tagrec/)
    "NeighbourVoting.k": POSITIVE_INT,
    "NeighbourVoting.subtract_prior": FLAG,
    "TagProp.k": POSITIVE_INT,
    "TagProp.sigmoids": FLAG,
    "TagProp.class_balanced": FLAG,
    "TagProp.epsilon": _rule("float", 0, 0.5, open_low=True, open_high=True),
    "TagProp.iterations": COUNT,
    "TagProp.learning_rate": POSITIVE,
    "TagProp.tolerance": NON_NEGATIVE,
    "TagProp.seed": COUNT,
    "TagFeature.C": POSITIVE,
    "TagFeature.bags": POSITIVE_INT,
    "TagFeature.neg_pos_ratio": POSITIVE,
    "TagFeature.max_positives": POSITIVE_INT,
    "TagFeature.min_negatives": POSITIVE_INT,
    "TagFeature.num_feature_tags": POSITIVE_INT,
    "TagFeature.use_tag_feature": FLAG,
    "TagFeature.tag_feature_scale": NON_NEGATIVE,
    "TagFeature.cross_fit": FLAG,
    "TagFeature.fit_bias": FLAG,
    "TagFeature.seed": COUNT,
    "TagFeature.max_iter": POSITIVE_INT,
    "TagFeature.tol": POSITIVE,
    "RelExample.C": POSITIVE,
    "RelExample.rounds": POSITIVE_INT,
    "RelExample.num_positives": POSITIVE_INT,
    "RelExample.k_visual": POSITIVE_INT,
    "RelExample.gamma": POSITIVE,
    "RelExample.start_negatives": POSITIVE_INT,
    "RelExample.round_negatives": POSITIVE_INT,
    "RelExample.platt_positives": POSITIVE_INT,
    "RelExample.fit_bias": FLAG,
    "RelExample.seed": COUNT,
    "RelExample.max_iter": POSITIVE_INT,
    "RelExample.tol": POSITIVE,
}
# KDGAN-WO-GM is KDGAN with another estimator: the same numbers, the same rules.
RULES.update({"KDGANWithoutGM." + key.split(".", 1)[1]: rule
              for key, rule in list(RULES.items()) if key.startswith("KDGAN.")})
# Optional values: None means "not set" (e.g. pretrain_patience = None: no early stopping).
NONE_ALLOWED = {"player_settings.pretrain_batch_size", "player_settings.pretrain_patience",
                "load_npz_dataset.validation_size", "run_experiment.train_eval_size"}


def describe(rule):
  """The rule in words, e.g. 'an integer >= 1' or 'a number in [0, 1]'."""
  noun = {"int": "an integer", "float": "a number", "bool": "True or False",
          "ints": "a tuple of integers", "floats": "a tuple of numbers"}[rule.kind]
  if rule.kind == "bool" or (rule.low is None and rule.high is None):
    return noun
  if rule.kind in ("ints", "floats"):
    noun += " each"
  if rule.low is not None and rule.high is not None:
    return (f"{noun} in {'(' if rule.open_low else '['}{rule.low:g}, "
            f"{rule.high:g}{')' if rule.open_high else ']'}")
  if rule.low is not None:
    return f"{noun} {'>' if rule.open_low else '>='} {rule.low:g}"
  return f"{noun} {'<' if rule.open_high else '<='} {rule.high:g}"


def _is_int(value):
  return isinstance(value, int) and not isinstance(value, bool)


def _in_range(rule, value):
  if isinstance(value, float) and not math.isfinite(value):
    return False
  if rule.low is not None and (value < rule.low or (rule.open_low and value == rule.low)):
    return False
  if rule.high is not None and (value > rule.high or (rule.open_high and value == rule.high)):
    return False
  return True


def value_ok(rule, value):
  """Whether `value` satisfies `rule` (ints are accepted where a number is asked for)."""
  if rule.kind == "bool":
    return isinstance(value, bool)
  if rule.kind == "int":
    return _is_int(value) and _in_range(rule, value)
  if rule.kind == "float":
    return (_is_int(value) or isinstance(value, float)) and _in_range(rule, value)
  if rule.kind == "ints":
    return (isinstance(value, (tuple, list))
            and all(_is_int(v) and _in_range(rule, v) for v in value))
  if rule.kind == "floats":
    return (isinstance(value, (tuple, list))
            and all((_is_int(v) or isinstance(v, float)) and _in_range(rule, v) for v in value))
  raise ValueError(f"unknown rule kind {rule.kind!r}")


def _resolve_macro(value, depth=0):
  """Follows `%MACRO` references to their bound literal; other references come back as they
  are (they are checked by the function they name)."""
  if depth < 10 and isinstance(value, gin.config.ConfigurableReference):
    if value.configurable.wrapped is gin.config.macro:
      scope = value.scoped_selector.rsplit("/", 1)[0]
      key = (scope, value.configurable.selector)
      bound = gin.config._CONFIG.get(key, {})  # pylint: disable=protected-access
      if "value" in bound:
        return _resolve_macro(bound["value"], depth + 1)
  return value


def bound_values():
  """Yields (binding as written, 'configurable.param', value) for every parsed gin binding."""
  config = gin.config._CONFIG  # pylint: disable=protected-access
  for (scope, selector), params in sorted(config.items()):
    name = selector.rsplit(".", 1)[-1]
    for param, value in sorted(params.items()):
      shown = f"{scope + '/' if scope else ''}{name}.{param}"
      yield shown, f"{name}.{param}", _resolve_macro(value)


def check_bindings():
  """Raises UserError (one sentence) for the first parsed binding that breaks its rule."""
  for shown, key, value in bound_values():
    rule = RULES.get(key)
    if rule is None or isinstance(value, gin.config.ConfigurableReference):
      continue
    if value is None and key in NONE_ALLOWED:
      continue
    if not value_ok(rule, value):
      raise UserError(f"gin binding {shown} = {value!r} is invalid: it must be "
                      f"{describe(rule)}{' or None' if key in NONE_ALLOWED else ''}; fix it in "
                      "the gin file or --gin_bindings.")
