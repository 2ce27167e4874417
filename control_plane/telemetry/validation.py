"""Strict shapes for what anonymous CLI instances send: every problem is a 400 (or 413 for sizes)
naming the field, and for batches the item's index (`events[3].name`).

Unknown fields are refused too: the free-form place for new data is an event's `properties`.
"""
import json
import math
import re
import uuid
from datetime import UTC, datetime, timedelta

from control_plane.errors import ApiError
from control_plane.updates import versions

EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(?:[.:-][a-z0-9_]+)*$")
PROPERTY_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
PLATFORM_PART = re.compile(r"^[a-z0-9_]+$")
MAX_NAME, MAX_KEY, MAX_VALUE, MAX_PLATFORM = 64, 64, 512, 32
FUTURE_SLACK = timedelta(minutes=5)  # clocks of machines in the field drift
UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def bad(param: str, message: str, code: str = "invalid_value", status: int = 400) -> ApiError:
    return ApiError(status, f"{param}: {message}", code, param)


def _only(body: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        name = f"{where}{unknown[0]}"[:100]
        raise bad(name, f"unknown field (allowed: {', '.join(sorted(allowed))})", "unknown_parameter")


def _required(body: dict, name: str, where: str):
    if body.get(name) is None:
        raise bad(f"{where}{name}", "is required", "missing_parameter")
    return body[name]


def _text(body: dict, name: str, where: str, max_length: int, pattern: re.Pattern, what: str) -> str:
    value = _required(body, name, where)
    if not isinstance(value, str) or not 0 < len(value) <= max_length or not pattern.fullmatch(value):
        raise bad(f"{where}{name}", f"must be {what} of at most {max_length} characters")
    return value


def instance_id(value, param: str) -> str:
    if not isinstance(value, str) or not UUID_TEXT.fullmatch(value):
        raise bad(param, "must be a UUID (e.g. 123e4567-e89b-12d3-a456-426614174000)")
    return str(uuid.UUID(value))


def timestamp(value, param: str, max_age_days: int, now: datetime) -> datetime:
    """RFC 3339 with a zone (`2026-11-24T10:00:00Z`) or Unix seconds, within the accepted window."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise bad(param, "must be an RFC 3339 time with a zone, or Unix seconds")
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value) if len(value) <= 40 else None
            if parsed is None or parsed.tzinfo is None:
                raise ValueError(value)
            parsed = parsed.astimezone(UTC)
        else:
            parsed = datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise bad(param, "must be an RFC 3339 time with a zone, or Unix seconds") from exc
    if not now - timedelta(days=max_age_days) <= parsed <= now + FUTURE_SLACK:
        raise bad(param, f"must lie within the last {max_age_days} days")
    return parsed


def _scalar(value) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < 2 ** 63
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= MAX_VALUE


def properties(value, param: str, limits: dict) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad(param, "must be an object")
    if len(value) > limits["max_properties"]:
        raise bad(param, f"has more than {limits['max_properties']} keys", "too_many_properties")
    for key, item in value.items():
        if len(key) > MAX_KEY or not PROPERTY_KEY.fullmatch(key):
            raise bad(param, f"key '{key[:MAX_KEY]}' must be letters, digits, _ . - (at most {MAX_KEY})")
        if not _scalar(item):
            raise bad(f"{param}.{key}", f"must be a string (at most {MAX_VALUE} characters), a finite number, "
                                        "a boolean or null")
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > limits["max_properties_bytes"]:
        raise bad(param, f"is {size} bytes as JSON; at most {limits['max_properties_bytes']}",
                  "properties_too_large", 413)
    return value


def event(item, where: str, limits: dict, now: datetime, default_instance: str | None = None) -> dict:
    """A telemetry_events row (without ip_hash) from one event object."""
    if not isinstance(item, dict):
        raise bad(where.rstrip(".") or "body", "must be an object")
    _only(item, {"name", "timestamp", "instance_id", "properties"}, where)
    name = _text(item, "name", where, MAX_NAME, EVENT_NAME, "a lowercase dotted name like cli.command_run")
    occurred = timestamp(_required(item, "timestamp", where), f"{where}timestamp", limits["max_event_age_days"], now)
    raw_instance = item.get("instance_id")
    instance = instance_id(raw_instance, f"{where}instance_id") if raw_instance is not None else default_instance
    return {"name": name, "instance_id": instance, "occurred_at": occurred, "day": occurred.date(),
            "received_at": now, "properties": properties(item.get("properties"), f"{where}properties", limits)}


def batch(body: dict, limits: dict, now: datetime) -> list[dict]:
    """Every event of the batch, or the first problem by index: a batch is stored whole or not at all."""
    _only(body, {"events", "instance_id"}, "")
    items = _required(body, "events", "")
    if not isinstance(items, list) or not items:
        raise bad("events", "must be a non-empty list of events")
    if len(items) > limits["max_batch"]:
        raise bad("events", f"holds {len(items)} events; at most {limits['max_batch']} per batch",
                  "batch_too_large", 413)
    default = instance_id(body["instance_id"], "instance_id") if body.get("instance_id") is not None else None
    return [event(item, f"events[{index}].", limits, now, default) for index, item in enumerate(items)]


def ping(body: dict) -> dict:
    _only(body, {"instance_id", "version", "os", "arch"}, "")
    version = _required(body, "version", "")
    if not isinstance(version, str) or not versions.is_valid(version):
        raise bad("version", "must be a semantic version like 0.3.0 or 0.4.0-beta.1", "invalid_version")
    return {"instance_id": instance_id(_required(body, "instance_id", ""), "instance_id"), "version": version,
            "os": _text(body, "os", "", MAX_PLATFORM, PLATFORM_PART, "lowercase letters, digits or _"),
            "arch": _text(body, "arch", "", MAX_PLATFORM, PLATFORM_PART, "lowercase letters, digits or _")}
