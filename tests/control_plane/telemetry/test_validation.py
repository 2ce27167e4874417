"""Telemetry shapes: what anonymous instances may send, each refusal naming the field (and index)."""
from datetime import UTC, datetime, timedelta

import pytest

from control_plane.errors import ApiError
from control_plane.telemetry import validation
from schemas.gateway import TELEMETRY_DEFAULTS as LIMITS

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ID = "123e4567-e89b-12d3-a456-426614174000"


def _event(**changes) -> dict:
    return {"name": "cli.command_run", "timestamp": "2026-11-25T11:59:00Z", **changes}


def _refusal(call) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value


@pytest.mark.parametrize("value,expected", [
    ("2026-11-25T11:00:00Z", datetime(2026, 11, 25, 11, 0, tzinfo=UTC)),
    ("2026-11-25T18:00:00+07:00", datetime(2026, 11, 25, 11, 0, tzinfo=UTC)),
    (1795000000, datetime.fromtimestamp(1795000000, UTC)),
    (1795000000.5, datetime.fromtimestamp(1795000000.5, UTC)),
])
def test_accepted_timestamps(value, expected):
    assert validation.event(_event(timestamp=value), "", LIMITS, NOW)["occurred_at"] == expected


@pytest.mark.parametrize("value", ["2026-11-25T11:00:00", "2026-11-25", "yesterday", True, None, [], 1e300,
                                   (NOW - timedelta(days=31)).isoformat(), (NOW + timedelta(hours=1)).isoformat()])
def test_refused_timestamps_name_the_field(value):
    assert _refusal(lambda: validation.event(_event(timestamp=value), "", LIMITS, NOW)).param == "timestamp"


@pytest.mark.parametrize("name", ["", "Cli.start", "cli..start", "cli.start\n", ".start", "a" * 65, 5, "cli start"])
def test_refused_event_names(name):
    assert _refusal(lambda: validation.event(_event(name=name), "", LIMITS, NOW)).param == "name"


@pytest.mark.parametrize("properties,param", [
    ({"nested": {"a": 1}}, "properties.nested"),
    ({"list": [1]}, "properties.list"),
    ({"long": "x" * 513}, "properties.long"),
    ({"bad key": 1}, "properties"),
    ({f"k{i}": i for i in range(LIMITS["max_properties"] + 1)}, "properties"),
    ("a string", "properties"),
])
def test_refused_properties_name_the_field(properties, param):
    assert _refusal(lambda: validation.event(_event(properties=properties), "", LIMITS, NOW)).param == param


def test_properties_over_the_byte_cap_are_413():
    big = {f"k{i}": "x" * 500 for i in range(LIMITS["max_properties_bytes"] // 500 + 1)}
    refusal = _refusal(lambda: validation.event(_event(properties=big), "", LIMITS, NOW))
    assert (refusal.status, refusal.code) == (413, "properties_too_large")


def test_scalar_properties_are_kept():
    properties = {"ok": True, "n": 3, "ratio": 0.5, "os": "linux", "none": None}
    assert validation.event(_event(properties=properties), "", LIMITS, NOW)["properties"] == properties


def test_a_bad_batch_item_is_named_by_its_index():
    refusal = _refusal(lambda: validation.batch({"events": [_event(), _event(), _event(name="Bad")]}, LIMITS, NOW))
    assert refusal.param == "events[2].name" and refusal.message.startswith("events[2].name:")


def test_a_batch_over_the_limit_is_413():
    events = [_event()] * (LIMITS["max_batch"] + 1)
    assert _refusal(lambda: validation.batch({"events": events}, LIMITS, NOW)).status == 413


def test_batch_instance_id_applies_to_events_without_their_own():
    other = "00000000-0000-4000-8000-000000000001"
    rows = validation.batch({"instance_id": ID, "events": [_event(), _event(instance_id=other)]}, LIMITS, NOW)
    assert [r["instance_id"] for r in rows] == [ID, other]


def test_unknown_fields_are_refused():
    assert _refusal(lambda: validation.ping({"instance_id": ID, "version": "0.1.0", "os": "linux",
                                             "arch": "x64", "hostname": "box"})).param == "hostname"


@pytest.mark.parametrize("field,value", [("instance_id", "not-a-uuid"), ("instance_id", ID + "\n"),
                                         ("version", "v0.1"), ("os", "Linux"), ("arch", "x" * 33)])
def test_refused_ping_fields(field, value):
    ping = {"instance_id": ID, "version": "0.1.0", "os": "linux", "arch": "x64", field: value}
    assert _refusal(lambda: validation.ping(ping)).param == field
