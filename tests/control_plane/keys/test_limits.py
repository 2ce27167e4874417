"""A key's limits as clients send them: money exact to the nano-dollar, and every bad value a 400 naming its field."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from control_plane.errors import ApiError
from control_plane.keys import limits
from schemas import strict_json

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _budget(raw: bytes):
    return limits.monthly_budget_nanos(strict_json.loads(raw, exact_numbers=True)["b"])


@pytest.mark.parametrize(("raw", "nanos"), [
    (b'{"b": 0}', 0), (b'{"b": 25}', 25_000_000_000), (b'{"b": 0.1}', 100_000_000),
    (b'{"b": 12.345678901}', 12_345_678_901), (b'{"b": 1.500000000000}', 1_500_000_000),
    (b'{"b": "0.000000001"}', 1), (b'{"b": 10000000}', 10_000_000 * 10**9), (b'{"b": null}', None),
])
def test_a_budget_is_stored_in_exact_nanos(raw, nanos):
    assert _budget(raw) == nanos


@pytest.mark.parametrize("raw", [b'{"b": -1}', b'{"b": 0.0000000001}', b'{"b": 1e400}', b'{"b": 1e-999999999}',
                                 b'{"b": 10000000.000000001}', b'{"b": "1e3"}', b'{"b": "-1"}', b'{"b": true}',
                                 b'{"b": {}}'])
def test_a_bad_budget_is_a_400_naming_it(raw):
    with pytest.raises(ApiError) as refused:
        _budget(raw)
    assert (refused.value.status, refused.value.param) == (400, "monthly_budget_usd")


@pytest.mark.parametrize("value", [0, -1, 11, True, 2.0, "3"])
def test_requests_per_minute_is_a_whole_number_up_to_the_tiers(value):
    with pytest.raises(ApiError) as refused:
        limits.requests_per_minute(value, "free", 10)
    assert refused.value.param == "requests_per_minute"


def test_expiry_is_kept_in_utc_and_must_be_ahead():
    assert limits.expires_at("2026-12-03T14:00:00+02:00", NOW - timedelta(hours=1)) == NOW
    assert limits.expires_at((NOW + timedelta(seconds=1)).isoformat(), NOW - timedelta(seconds=1)) is not None
    for bad in ("2026-12-03T12:00:00Z", "2026-12-04T00:00:00", "9999-12-31T23:59:59-14:00", "x" * 100, 7):
        with pytest.raises(ApiError) as refused:
            limits.expires_at(bad, NOW)
        assert refused.value.param == "expires_at"


def test_unknown_fields_are_refused():
    with pytest.raises(ApiError) as refused:
        limits.check_fields({"name": "x", "monthly_budget": 5})
    assert (refused.value.param, refused.value.code) == ("monthly_budget", "unknown_parameter")


def test_the_view_formats_money_like_the_usage_report():
    row = {"allowed_models": '["a-*"]', "monthly_budget_nanos": 12_500_000_000, "requests_per_minute": 3,
           "expires_at": NOW}
    assert limits.view(row) == {"allowed_models": ["a-*"], "monthly_budget_usd": "12.5", "requests_per_minute": 3,
                                "expires_at": "2026-12-03T12:00:00Z"}
    assert Decimal(limits.view(row)["monthly_budget_usd"]) * 10**9 == row["monthly_budget_nanos"]
