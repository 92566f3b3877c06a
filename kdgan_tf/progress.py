"""Progress bars for people at a terminal, shared by training and the baseline searches."""
import sys


def progress_bar(iterable, **kwargs):
  """tqdm over `iterable`, silent in logs and CI (tqdm's disable=None: off when not a TTY);
  the plain iterable when tqdm is not installed."""
  try:
    from tqdm.auto import tqdm  # pylint: disable=g-import-not-at-top
  except ImportError:
    return iterable
  return tqdm(iterable, disable=None, leave=False, file=sys.stderr, **kwargs)
