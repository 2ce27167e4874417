"""gateway.yaml's `byok.platform_fee_percent`: a decimal string from 0 to 100."""
from pathlib import Path

import pytest
import yaml

from schemas import gateway

SHIPPED = Path(__file__).resolve().parents[2] / "gateway.yaml"


def _with_fee(value) -> dict:
    data = yaml.safe_load(SHIPPED.read_text())
    data["byok"] = {"platform_fee_percent": value}
    return data


@pytest.mark.parametrize("value", ["0", "2.5", "15", "99.99", "100", "100.0"])
def test_fee_from_0_to_100_is_valid(value):
    assert gateway.validate(_with_fee(value)) == []


@pytest.mark.parametrize("value", ["100.5", "101", "-1", "1e2", "abc", "", 5])
def test_other_fee_is_an_error_at_its_path(value):
    errors = gateway.validate(_with_fee(value))
    assert errors and all(e.startswith("byok.platform_fee_percent:") for e in errors)


def test_byok_section_is_optional_with_no_fee():
    data = yaml.safe_load(SHIPPED.read_text())
    data.pop("byok", None)
    assert gateway.validate(data) == [] and gateway.GatewayConfig(data).byok == {"platform_fee_percent": "0"}
