"""Following gateway.yaml while running: Envoy first, then every sidecar process at once.

The sidecar processes do not read the operators' file: they follow a published copy
(`CLEW_HOME/run/gateway.yaml`), which changes only after Envoy has what the new config routes to.
For each edit that validates:

1. Envoy's files are rendered for the new config, keeping every provider the previous one had
   (a sidecar still on it may route there for up to a second);
2. the edit's exact bytes are renamed into the published copy, which every sidecar process picks
   up within a second; all of them read the same validated bytes, never a half-written file;
3. a few seconds later, providers the edit removed leave Envoy.

An edit that does not validate changes nothing anywhere. Each outcome is one log line (and the
`clew_config_*` metrics of schemas.config_reload).
"""
import logging
import os
import time
from pathlib import Path

from schemas import config_reload
from schemas.gateway import ConfigFile, GatewayConfig
from schemas.settings import Settings

log = logging.getLogger("clew.config")
# Longer than a sidecar's poll (plugins.runtime_config.POLL_SECONDS) with room to spare.
GRACE_SECONDS = 3.0


def published_path(settings: Settings) -> Path:
    return Path(settings.home) / "run" / "gateway.yaml"


def _with_providers(config: GatewayConfig, providers: dict) -> GatewayConfig:
    return GatewayConfig({**config.raw, "providers": providers})


class ConfigWatch:
    def __init__(self, config: ConfigFile, render, published: Path | None = None, clock=time.monotonic):
        """`render(config)` writes Envoy's files; `published` is the copy the sidecars follow."""
        self.config, self.render, self.published, self.clock = config, render, published, clock
        self._in_envoy = dict(config.current.providers)  # what the current Envoy files route to
        self._shrink_at: float | None = None
        config_reload.loaded(config)
        self._publish()

    def check(self) -> None:
        """Called every second: take a new edit if there is one, then finish a pending removal."""
        result = self.config.reload_if_changed()
        if result == "applied":
            self._apply(self.config.current)
        else:
            config_reload.record(self.config, result)
        if self._shrink_at is not None and self.clock() >= self._shrink_at:
            self._shrink_at = None
            self._render(self.config.current)
            log.info("providers no longer in gateway.yaml left Envoy's clusters",
                     extra={"fields": {"event": "config_envoy_pruned", "sha256": self.config.sha256}})

    def _apply(self, new: GatewayConfig) -> None:
        superset = {**self._in_envoy, **new.providers}
        try:
            self._render(_with_providers(new, superset))
        except Exception as error:  # noqa: BLE001 - keep the gateway on its last good files
            log.error("Envoy's files could not be rendered from %s; nothing changed: %s", self.config.path, error,
                      extra={"fields": {"event": "config_reload", "result": "render_failed"}})
            return
        self._publish()
        config_reload.record(self.config, "applied", "Envoy's files re-rendered, sidecars follow")
        if superset.keys() != new.providers.keys():
            self._shrink_at = self.clock() + GRACE_SECONDS

    def _render(self, config: GatewayConfig) -> None:
        self.render(config)
        self._in_envoy = dict(config.providers)

    def _publish(self) -> None:
        if self.published is None:
            return
        self.published.parent.mkdir(parents=True, exist_ok=True)
        staging = self.published.with_name(f".{self.published.name}.tmp")
        staging.write_bytes(self.config.valid_bytes)
        os.replace(staging, self.published)  # a reader sees the old bytes or the new, never a mix
