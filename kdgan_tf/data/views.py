"""Which views of an example each player reads (gin: `run_experiment.player_views`).

Why: privileged provision. The deployed classifier C must read only what exists at inference
time (the "image" view: pixels or image features), while the teacher T and the discriminator D
may also read privileged views (text token ids, extra features). A player with one view gets
that array as its Keras input (so MNIST's players are the plain image models they always
were); a player with several gets a dict {view: array} and its builder receives
`input_shape={view: shape}` and, for token views, `vocabulary_sizes={view: V}`.
"""
import numpy as np

from kdgan_tf.data.augment import no_augment
from kdgan_tf.data.splits import is_token_view
from kdgan_tf.errors import UserError

INFERENCE_VIEW = "image"


def player_views(splits, players, configured=None):
  """{player: tuple of view names}. Default: C reads the "image" view only; T and D read every
  view of the data. `configured` ({player: view or views}) overrides per player."""
  available = splits.view_names
  configured = dict(configured or {})
  unknown = sorted(set(configured) - {"classifier", "teacher", "discriminator"})
  if unknown:
    raise UserError(f"run_experiment.player_views names {unknown}; the players are "
                    "classifier, teacher and discriminator.")
  out = {}
  for player in players:
    views = configured.get(player)
    if views is None:
      if player == "classifier":
        if INFERENCE_VIEW not in available and len(available) > 1:
          raise UserError(f"{splits.name} has views {list(available)} but no {INFERENCE_VIEW!r}"
                          " view: say which one the classifier reads with run_experiment."
                          "player_views = {'classifier': ('<view>',)}.")
        views = (INFERENCE_VIEW,) if INFERENCE_VIEW in available else available
      else:
        views = available
    views = (views,) if isinstance(views, str) else tuple(views)
    missing = [v for v in views if v not in available]
    if not views or missing:
      raise UserError(f"run_experiment.player_views gives the {player} views {list(views)}, but "
                      f"{splits.name} has {list(available)}.")
    out[player] = views
  if "classifier" in out and len(out["classifier"]) != 1:
    raise UserError(f"the classifier must read exactly one view (what the deployed model takes)"
                    f", got {list(out['classifier'])} in run_experiment.player_views.")
  return out


def builder_inputs(splits, views):
  """The keyword arguments that tell a player's builder its inputs."""
  arrays = {v: splits.train.views[v] for v in views}
  vocabulary = {v: splits.vocabulary_size(v) for v, a in arrays.items() if is_token_view(a)}
  if len(views) == 1:
    kwargs = {"input_shape": arrays[views[0]].shape[1:]}
  else:
    kwargs = {"input_shape": {v: a.shape[1:] for v, a in arrays.items()}}
  if vocabulary:
    kwargs["vocabulary_sizes"] = vocabulary
  return kwargs


def selector(views):
  """features {view: tensor} -> the player's input (a tensor for one view, else a dict)."""
  views = tuple(views)
  if len(views) == 1:
    return lambda features: features[views[0]]
  return lambda features: {v: features[v] for v in views}


def augmenter(augment_fn):
  """(features, seed) -> features with `augment_fn` applied to the image view (when it holds
  images [B, H, W, C]); other views pass unchanged."""
  if augment_fn is no_augment:
    return lambda features, seed: features

  def augment(features, seed):
    image = features.get(INFERENCE_VIEW)
    if image is None or image.shape.rank != 4:
      return features
    return dict(features, **{INFERENCE_VIEW: augment_fn(image, seed)})

  return augment


def as_numpy_inputs(split, views):
  """The host-side input of a player for a whole split (e.g. for export checks)."""
  if len(views) == 1:
    return np.asarray(split.views[views[0]])
  return {v: np.asarray(split.views[v]) for v in views}
