"""The exhaustion forecast: when a key limit runs out at the current rate (time injected)."""

from __future__ import annotations

import math
import random

import pytest

from scalegate.observe.forecast import Forecaster


def feed(f: Forecaster, points: list[tuple[float, float]], capacity: float = 100.0) -> None:
    for t, used in points:
        f.observe("key-a", "rpm", used, capacity, t)


def test_a_steady_rise_runs_out_when_the_line_says() -> None:
    f = Forecaster(window=120)
    feed(f, [(t, 10 + 2 * t) for t in range(0, 21)])  # 2 units/s, at 50 of 100 at t=20
    assert f.rate("key-a", "rpm") == pytest.approx(2.0)
    assert f.seconds_left("key-a", "rpm") == pytest.approx(25.0)


def test_noise_around_a_trend_is_averaged_out() -> None:
    rng = random.Random(7)
    f = Forecaster(window=60)
    feed(f, [(t / 2, 20 + 0.5 * (t / 2) + rng.uniform(-3, 3)) for t in range(0, 121)], 1000)
    left = f.seconds_left("key-a", "rpm")
    assert left is not None
    expected = (1000 - (20 + 0.5 * 60)) / 0.5
    assert left == pytest.approx(expected, rel=0.15)


def test_flat_falling_or_tiny_rises_do_not_run_out() -> None:
    flat, falling, tiny = Forecaster(), Forecaster(), Forecaster()
    feed(flat, [(t, 40.0) for t in range(10)])
    feed(falling, [(t, 90 - 5 * t) for t in range(10)])
    feed(tiny, [(t, 40 + 0.001 * t) for t in range(10)])  # 0.01 of 100 in 9 s: noise
    for f in (flat, falling, tiny):
        assert f.seconds_left("key-a", "rpm") == math.inf


def test_not_enough_history_is_unknown_and_a_full_limit_is_now() -> None:
    f = Forecaster()
    assert f.seconds_left("key-a", "rpm") is None
    feed(f, [(0, 10), (1, 20)])
    assert f.seconds_left("key-a", "rpm") is None  # two samples over a second: no rate yet
    full = Forecaster()
    feed(full, [(0, 100)])
    assert full.seconds_left("key-a", "rpm") == 0.0


def test_old_samples_leave_the_window_and_close_readers_merge() -> None:
    f = Forecaster(window=30)
    feed(f, [(t, 50 - t) for t in range(0, 40)])  # falling for 40 s
    feed(f, [(t, 10 + 3 * (t - 40)) for t in range(40, 80)])  # then rising 3/s
    assert f.rate("key-a", "rpm") == pytest.approx(3.0)
    f.observe("key-a", "rpm", 131.0, 100, 79.2)  # a second reader 0.2 s later: merged
    assert f._samples[("key-a", "rpm")][-1] == (79, 131.0)
    assert f._samples[("key-a", "rpm")][-2][0] == 78
    f.forget(set())
    assert f.seconds_left("key-a", "rpm") is None
