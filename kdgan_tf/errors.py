"""Errors meant for people: the entry point prints their message in one line and exits != 0."""


class UserError(ValueError):
  """Bad input or environment that the user can fix; the message says how.

  A ValueError, so library callers can catch it as one; the command line prints its first line
  and exits with code 2.
  """


class DataNotFoundError(UserError):
  """The dataset is not on disk and downloading is off."""


class TrainingDivergedError(UserError):
  """A loss became NaN or infinite."""


class CheckpointError(UserError):
  """A checkpoint in model_dir could not be restored."""


class ExportCheckError(UserError):
  """The exported TF Lite model disagrees with the Keras model."""
