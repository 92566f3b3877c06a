"""Unit tests for the concrete-temperature schedules (kdgan_tf.schedules)."""
import math

import kdgan_tf  # noqa: F401  (sets KERAS_BACKEND before anything imports keras)
import pytest

from kdgan_tf.schedules import constant_tau, exponential_tau


@pytest.mark.parametrize("epoch,expected", [
    (0, 1.0),
    (10, math.sqrt(0.1)),        # halfway in log space: 1.0 * 0.1 ** (10 / 20)
    (5, 0.1 ** 0.25),
    (20, 0.1),
    (21, 0.1),                   # floored at tau_end
    (50, 0.1),
])
def test_exponential_tau_values(epoch, expected):
  tau = exponential_tau(epoch, tau_start=1.0, tau_end=0.1, decay_epochs=20)
  assert isinstance(tau, float)
  assert tau == pytest.approx(expected, rel=1e-12)


def test_exponential_tau_defaults_match_paper():
  """Paper section 4: 1.0 annealed exponentially to 0.1."""
  assert exponential_tau(0) == pytest.approx(1.0)
  assert exponential_tau(10) == pytest.approx(0.31622776601683794)
  assert exponential_tau(20) == pytest.approx(0.1)


def test_exponential_tau_monotone_non_increasing():
  taus = [exponential_tau(e, tau_start=1.0, tau_end=0.1, decay_epochs=20) for e in range(60)]
  assert all(a >= b for a, b in zip(taus, taus[1:]))
  assert all(0.1 - 1e-12 <= t <= 1.0 for t in taus)
  # Strictly decreasing during the decay, constant after it.
  assert all(a > b for a, b in zip(taus[:21], taus[1:21]))
  assert len(set(taus[20:])) == 1


def test_exponential_tau_constant_ratio_per_epoch():
  """Exponential decay: tau(e + 1) / tau(e) is the same for every epoch in the decay."""
  ratios = [exponential_tau(e + 1, 2.0, 0.5, 8) / exponential_tau(e, 2.0, 0.5, 8)
            for e in range(8)]
  for r in ratios:
    assert r == pytest.approx((0.5 / 2.0) ** (1.0 / 8), rel=1e-12)


def test_exponential_tau_negative_epoch_is_start():
  assert exponential_tau(-3, tau_start=1.0, tau_end=0.1, decay_epochs=20) == pytest.approx(1.0)


@pytest.mark.parametrize("decay_epochs", [0, -5])
def test_exponential_tau_no_decay_gives_tau_end(decay_epochs):
  for epoch in (0, 1, 100):
    assert exponential_tau(epoch, tau_start=1.0, tau_end=0.1,
                           decay_epochs=decay_epochs) == pytest.approx(0.1)


@pytest.mark.parametrize("tau_start,tau_end", [(0.0, 0.1), (-1.0, 0.1), (1.0, 0.0),
                                               (1.0, -0.1)])
def test_exponential_tau_non_positive_raises(tau_start, tau_end):
  with pytest.raises(ValueError):
    exponential_tau(0, tau_start=tau_start, tau_end=tau_end, decay_epochs=20)
  with pytest.raises(ValueError):  # validated even when there is no decay
    exponential_tau(0, tau_start=tau_start, tau_end=tau_end, decay_epochs=0)


def test_constant_tau():
  assert constant_tau(0) == 1.0
  assert constant_tau(17) == 1.0
  for epoch in (0, 5, 1000):
    tau = constant_tau(epoch, tau=0.5)
    assert isinstance(tau, float)
    assert tau == 0.5
  assert isinstance(constant_tau(3, tau=2), float)
