"""An account's own spend cap as clients send it: exact dollars, at most the tier's, every refusal a 400
naming the field."""
from decimal import Decimal

import pytest

from control_plane.billing.spend_cap import cap_nanos
from control_plane.errors import ApiError


@pytest.mark.parametrize("value,nanos", [
    (None, None), (0, 0), (25, 25_000_000_000), (Decimal("12.5"), 12_500_000_000), ("0.000000001", 1),
    ("10000000", 10_000_000 * 10 ** 9),
])
def test_dollars_become_exact_nano_dollars(value, nanos):
    assert cap_nanos(value, "pro", None) == nanos


@pytest.mark.parametrize("value,code", [
    (True, "invalid_type"), ([], "invalid_type"), ({}, "invalid_type"), (1.5, "invalid_type"),
    ("12,50", "invalid_value"), ("-1", "invalid_value"), (-1, "invalid_value"), ("1e3", "invalid_value"),
    (Decimal("1e999999"), "invalid_value"), (Decimal("-0.5"), "invalid_value"), (10_000_001, "invalid_value"),
    (Decimal("0.0000000001"), "invalid_value"), ("0.1234567891", "invalid_value"),
])
def test_anything_else_is_a_400_naming_the_field(value, code):
    with pytest.raises(ApiError) as refused:
        cap_nanos(value, "pro", None)
    assert (refused.value.status, refused.value.code, refused.value.param) == (400, code, "monthly_spend_cap_usd")


def test_the_tiers_cap_is_the_most_an_account_may_set():
    assert cap_nanos("5000", "enterprise", 5_000 * 10 ** 9) == 5_000 * 10 ** 9
    with pytest.raises(ApiError) as refused:
        cap_nanos("5000.000000001", "enterprise", 5_000 * 10 ** 9)
    assert "The enterprise tier caps spend at $5000 a month" in refused.value.message
