"""Fault rules set through the admin API: an error status and/or extra latency per provider or model."""
import itertools
from dataclasses import asdict, dataclass

from plugins.simulator.errors import invalid

_FIELDS = {"provider", "model", "status", "retry_after", "times", "latency_ms"}


@dataclass(slots=True)
class FaultRule:
    id: int
    provider: str | None = None
    model: str | None = None
    status: int | None = None
    retry_after: int | None = None
    times: int | None = None  # None: applies until cleared
    latency_ms: int = 0

    def matches(self, provider: str, model: str) -> bool:
        return (self.provider is None or self.provider == provider) and (self.model is None or self.model == model)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Fault:
    """What the matching rules decided for one request."""

    status: int | None = None
    retry_after: int | None = None
    latency_ms: int = 0


NO_FAULT = Fault()


class FaultBook:
    def __init__(self):
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, spec) -> FaultRule:
        rule = FaultRule(next(self._ids), **_validated(spec))
        self._rules.append(rule)
        return rule

    def list(self) -> list[dict]:
        return [rule.to_json() for rule in self._rules]

    def clear(self) -> None:
        self._rules.clear()

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [rule for rule in self._rules if rule.id != rule_id]
        return len(self._rules) != before

    def take(self, provider: str, model: str) -> Fault:
        """Apply the rules matching this request: every latency rule, and the first rule with a status.

        A rule's `times` counts only the requests it actually affected.
        """
        if not self._rules:
            return NO_FAULT  # the common case costs one check
        chosen, latency = None, 0
        for rule in self._rules:
            if not rule.matches(provider, model) or (rule.status is not None and chosen is not None):
                continue
            chosen = rule if rule.status is not None else chosen
            latency = max(latency, rule.latency_ms)
            if rule.times is not None:
                rule.times -= 1
        self._rules = [rule for rule in self._rules if rule.times is None or rule.times > 0]
        status = chosen.status if chosen else None
        retry_after = chosen.retry_after if chosen else None
        if status == 429 and retry_after is None:
            retry_after = 1
        return Fault(status, retry_after, latency)


def _validated(spec) -> dict:
    if not isinstance(spec, dict):
        raise invalid(None, "A fault rule must be a JSON object.")
    unknown = set(spec) - _FIELDS
    if unknown:
        raise invalid(sorted(unknown)[0], f"Unknown fault rule field(s): {sorted(unknown)}.", "unknown_parameter")
    rule = {name: _optional_str(spec, name) for name in ("provider", "model")}
    rule["status"] = _optional_int(spec, "status", 400, 599)
    rule["retry_after"] = _optional_int(spec, "retry_after", 0, 86_400)
    rule["times"] = _optional_int(spec, "times", 1, 10**9)
    rule["latency_ms"] = _optional_int(spec, "latency_ms", 0, 600_000) or 0
    if rule["status"] is None and not rule["latency_ms"]:
        raise invalid("status", "A fault rule needs a 'status', a 'latency_ms', or both.", "missing_required_parameter")
    return rule


def _optional_str(spec: dict, name: str) -> str | None:
    value = spec.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise invalid(name, f"'{name}' must be a non-empty string.", "invalid_type")
    return value


def _optional_int(spec: dict, name: str, low: int, high: int) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid(name, f"'{name}' must be an integer between {low} and {high}.", "invalid_value")
    return value
