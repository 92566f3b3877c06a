"""Temperature schedules for the concrete (Gumbel-softmax) relaxation.

The paper (section 4) anneals tau "from a large value (1.0) exponentially to a small value (0.1)".
High tau gives smooth, low-variance but biased samples; low tau gives near one-hot samples.
The schedule is a pure function of the epoch so it is testable and resumable; the trainer writes
its value into a non-trainable variable so changing tau never retraces a `tf.function`.
"""
import math

import gin

from kdgan_tf.errors import UserError


@gin.configurable
def exponential_tau(epoch, tau_start=1.0, tau_end=0.1, decay_epochs=20):
  """tau at the start of game epoch `epoch` (0-based).

  tau(e) = tau_start * (tau_end / tau_start) ** (e / decay_epochs), floored at tau_end, so tau
  reaches tau_end after `decay_epochs` epochs and stays there.
  """
  if tau_start <= 0 or tau_end <= 0:
    raise UserError(f"tau_start and tau_end must be > 0, got {tau_start}, {tau_end}.")
  if decay_epochs <= 0:
    return float(tau_end)
  fraction = min(max(epoch, 0) / float(decay_epochs), 1.0)
  return float(tau_start * math.exp(fraction * math.log(tau_end / tau_start)))


@gin.configurable
def constant_tau(epoch, tau=1.0):
  """A fixed temperature (for ablations)."""
  del epoch
  if tau <= 0:
    raise UserError(f"constant_tau.tau must be > 0, got {tau}.")
  return float(tau)
