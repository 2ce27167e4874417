"""gateway.yaml as the sidecar uses it: indexed for the hot path, reloaded when the file changes.

An edit that does not validate is reported and ignored; the last valid config keeps serving.
"""
import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from schemas import config_reload, gateway, upstreams
from schemas.pricing import TokenPrice, unit_price_nanos

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class ModelRoute:
    name: str
    provider: str
    upstream_model: str
    context_window: int
    price: TokenPrice
    kind: str = "chat"    # "chat", "embedding", "image" or "video"
    unit_nanos: int = 0   # image and video models: the price of one image or one video
    unit_tokens: int = 0  # image and video models: what one image or video counts toward the quota


@dataclass(frozen=True)
class Runtime:
    config: gateway.GatewayConfig
    models: dict[str, ModelRoute]
    upstreams: dict[str, upstreams.Upstream]

    def tier(self, name: str) -> dict:
        # An account on a tier an edit removed falls back to free rather than failing.
        return self.config.tiers.get(name) or self.config.tiers["free"]


def _model(name: str, m: dict) -> ModelRoute:
    kind = m.get("kind", "chat")
    if kind not in ("chat", "embedding"):  # priced per unit, not per token
        return ModelRoute(name, m["provider"], m["upstream_model"], 0, TokenPrice(0, 0), kind,
                          unit_price_nanos(m[f"price_per_{kind}"]), gateway.quota_tokens_per_unit(m))
    # Embedding models are priced per input token like chat (no output price: from_config reads it as 0).
    return ModelRoute(name, m["provider"], m["upstream_model"], m.get("context_window", 0),
                      TokenPrice.from_config(m["price_per_1m"]), kind)


def build(config: gateway.GatewayConfig, env) -> Runtime:
    models = {name: _model(name, m) for name, m in config.models.items()}
    return Runtime(config, models, upstreams.resolve(config, env))


class RuntimeConfig:
    """The current Runtime, rebuilt whenever gateway.yaml changes and still validates."""

    def __init__(self, path: Path, env=None):
        self.env = os.environ if env is None else env
        self.file = gateway.ConfigFile(path)
        self.current = build(self.file.current, self.env)
        config_reload.loaded(self.file)

    def reload_if_changed(self) -> None:
        """Swaps in the new Runtime whole: a request sees either the old config or the new one."""
        result = self.file.reload_if_changed()
        if result == "applied":
            self.current = build(self.file.current, self.env)
        config_reload.record(self.file, result)

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            self.reload_if_changed()
