"""gateway.yaml's webhooks: and telemetry: sections: optional, with defaults the schema documents."""
import json

import pytest
import yaml

from schemas import gateway
from tests.support.stack import ROOT

SHIPPED = yaml.safe_load((ROOT / "gateway.yaml").read_text())
SCHEMA = json.loads(gateway.SCHEMA_PATH.read_text())


@pytest.mark.parametrize("section", ["webhooks", "telemetry"])
def test_a_file_without_the_section_is_valid_and_gets_the_defaults(section):
    data = {k: v for k, v in SHIPPED.items() if k != section}
    assert gateway.validate(data) == []
    defaults = {name: spec["default"] for name, spec in SCHEMA["properties"][section]["properties"].items()}
    assert getattr(gateway.GatewayConfig(data), section) == defaults


def test_the_shipped_file_never_allows_private_webhook_targets():
    assert gateway.GatewayConfig(SHIPPED).webhooks["allow_private_targets"] is False


@pytest.mark.parametrize("section,key,value", [
    ("webhooks", "max_attempts", 0), ("webhooks", "backoff_seconds", 0), ("webhooks", "timeout_seconds", 120),
    ("webhooks", "allow_private_targets", "yes"), ("webhooks", "retries", 3),
    ("telemetry", "max_batch", 0), ("telemetry", "per_ip_per_minute", "many"),
])
def test_bad_values_are_named_by_their_path(section, key, value):
    data = json.loads(json.dumps(SHIPPED))
    data[section][key] = value
    assert any(error.startswith(section) for error in gateway.validate(data))
