"""`clew config diff OLD NEW`: what an edit of gateway.yaml changes, one line each, in words.

Providers, models (prices apart, the line operators look for first) and tiers by name; every other
setting by its dotted path. Both files must validate first: a diff of a broken file would mislead.
"""
import json
from decimal import Decimal

from schemas.gateway import GatewayConfig

NAMED = ("providers", "models", "tiers")


def diff(old: GatewayConfig, new: GatewayConfig) -> list[str]:
    return [*_named("provider", old.providers, new.providers, _describe_provider),
            *_named("model", old.models, new.models, _describe_model, _model_changes),
            *_named("tier", old.tiers, new.tiers, _describe_tier),
            *_settings(old.raw, new.raw)]


def _named(kind: str, old: dict, new: dict, describe, changes=None) -> list[str]:
    lines = [f"{kind} added: {name} ({describe(new[name])})" for name in sorted(new.keys() - old.keys())]
    lines += [f"{kind} removed: {name}" for name in sorted(old.keys() - new.keys())]
    for name in sorted(old.keys() & new.keys()):
        lines += (changes or _field_changes)(kind, name, old[name], new[name])
    return lines


def _field_changes(kind: str, name: str, old: dict, new: dict) -> list[str]:
    before, after = _flatten(old), _flatten(new)
    return [f"{kind} changed: {name} {key} {_show(before.get(key))} → {_show(after.get(key))}"
            for key in sorted(before.keys() | after.keys()) if before.get(key, _ABSENT) != after.get(key, _ABSENT)]


def _prices(model: dict) -> dict[str, str]:
    """"input per 1M" → "1.50", "per image" → "0.040": every price of a model (chat, image or video)."""
    prices = {f"{side} per 1M": value for side, value in (model.get("price_per_1m") or {}).items()}
    prices.update({f"per {key.removeprefix('price_per_')}": value for key, value in model.items()
                   if key.startswith("price_per_") and key != "price_per_1m"})
    return prices


def _model_changes(kind: str, name: str, old: dict, new: dict) -> list[str]:
    before, after = _prices(old), _prices(new)
    lines = []
    for label in sorted(before.keys() | after.keys(), key=lambda k: (not k.startswith("input"), k)):
        was, now = before.get(label), after.get(label)
        if was is None or now is None or Decimal(was) != Decimal(now):
            what, unit = label.split(" ", 1) if not label.startswith("per ") else ("", label)
            lines.append(f"price changed: {name} {what + ' ' if what else ''}"
                         f"{usd(was) if was is not None else 'none'} → "
                         f"{usd(now) if now is not None else 'none'} {unit}")
    unpriced = [{k: v for k, v in model.items() if not k.startswith("price_per_")} for model in (old, new)]
    return lines + _field_changes(kind, name, *unpriced)


def _settings(old: dict, new: dict) -> list[str]:
    before = _flatten({k: v for k, v in old.items() if k not in NAMED})
    after = _flatten({k: v for k, v in new.items() if k not in NAMED})
    lines = [f"setting added: {key} {_show(after[key])}" for key in sorted(after.keys() - before.keys())]
    lines += [f"setting removed: {key} (was {_show(before[key])})" for key in sorted(before.keys() - after.keys())]
    return lines + [f"setting changed: {key} {_show(before[key])} → {_show(after[key])}"
                    for key in sorted(before.keys() & after.keys()) if before[key] != after[key]]


def _describe_provider(provider: dict) -> str:
    return f"{provider['base_url']}, key from {provider['api_key_env']}"


def _describe_model(model: dict) -> str:
    price = model.get("price_per_1m")
    if price and "output" in price:  # a chat model (an embedding model has an input price only)
        return f"{model['provider']}, {usd(price['input'])}/{usd(price['output'])} per 1M"
    prices = ", ".join(f"{usd(value)} {label}" for label, value in _prices(model).items())
    return f"{model['provider']}, {model.get('kind', 'chat')}, {prices}"


def _describe_tier(tier: dict) -> str:
    return ", ".join(f"{key} {_show(value)}" for key, value in _flatten(tier).items())


def usd(amount) -> str:
    """"1.5" → "$1.50", "0.125" → "$0.125": cents always, a third decimal when there is one."""
    value = Decimal(str(amount))
    return f"${value:.2f}" if value == round(value, 2) else f"${value.normalize()}"


_ABSENT = object()


def _flatten(data, prefix: str = "") -> dict:
    if not isinstance(data, dict) or not data:
        return {prefix: data} if prefix else {}
    flat = {}
    for key, value in data.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _show(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool | list | dict):
        return json.dumps(value)
    return str(value)
