"""The soak's verdict: a least-squares slope per process, flat under FLAT_MB_PER_MINUTE after the warm-up."""
from tests.bench.soak import FLAT_MB_PER_MINUTE, slope_per_minute, verdicts


def test_the_slope_is_megabytes_per_minute():
    assert slope_per_minute([(0, 100.0), (60, 100.5), (120, 101.0)]) == 0.5


def test_a_level_series_after_the_warm_up_is_flat_however_it_grew_before():
    series = [(t, 50.0 + min(t, 60) / 6) for t in range(0, 600, 10)]  # grows 10 MB, then levels off
    [row] = verdicts({"sidecar-0": series}, warmup=120)
    assert row["flat"] and abs(row["slope_mb_per_min"]) < 1e-9


def test_steady_growth_is_not_flat():
    series = [(t, 110 + (2 * FLAT_MB_PER_MINUTE) * t / 60) for t in range(0, 600, 10)]
    [row] = verdicts({"sidecar-0": series}, warmup=120)
    assert not row["flat"]
