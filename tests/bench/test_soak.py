"""The soak's verdict: growth after the warm-up, per request served, flat under FLAT_BYTES_PER_REQUEST."""
from tests.bench.soak import FLAT_BYTES_PER_REQUEST, MIB, slope_per_minute, verdicts

RATE = 100  # requests a second


def _series(mb_at) -> list[tuple[float, float, int]]:
    """Ten minutes of samples every 10 s at RATE requests a second; `mb_at(seconds)` gives the RSS."""
    return [(t, mb_at(t), RATE * t) for t in range(0, 600, 10)]


def test_the_slope_is_megabytes_per_minute():
    assert slope_per_minute([(0, 100.0), (60, 100.5), (120, 101.0)]) == 0.5


def test_a_level_series_after_the_warm_up_is_flat_however_it_grew_before():
    [row] = verdicts({"sidecar-0": _series(lambda t: 50.0 + min(t, 60) / 6)}, warmup=300)  # +10 MB, then level
    assert row["flat"] and abs(row["bytes_per_request"]) < 1e-6


def test_steady_growth_per_request_is_not_flat():
    leak = 2 * FLAT_BYTES_PER_REQUEST
    [row] = verdicts({"sidecar-0": _series(lambda t: 110 + leak * RATE * t / MIB)}, warmup=300)
    assert not row["flat"] and abs(row["bytes_per_request"] - leak) < 1e-6
    assert row["requests"] == RATE * 290


def test_a_sawtooth_without_a_trend_is_flat():
    # Memory taken over a minute and given back (1 MB, a collector's cycle): no growth.
    [row] = verdicts({"sidecar-0": _series(lambda t: 110 + (t % 60) / 60)}, warmup=300)
    assert row["flat"], row


def test_a_process_that_grew_without_serving_anything_is_not_flat():
    idle = [(t, 40 + t / 600, 0) for t in range(0, 600, 10)]
    [row] = verdicts({"control-plane": idle}, warmup=300)
    assert row["bytes_per_request"] is None and not row["flat"]
