"""What every process that follows gateway.yaml reports about it: one metric family and one log line per reload.

The same names in each component (the scrape's `job` label tells them apart), so one dashboard
panel and one alert cover the sidecar processes, the control plane and the renderer alike.
`clew_config_info{sha256}` names the content in use: every process on the same digest means the
whole gateway runs the same gateway.yaml.
"""
import logging
import time

from prometheus_client import Counter, Gauge

from schemas.gateway import ConfigFile

RELOADS = Counter("clew_config_reloads_total", "Changes of gateway.yaml seen, by result (applied | invalid)",
                  ["result"])
LAST_RELOAD_OK = Gauge("clew_config_last_reload_successful",
                       "1 when the last change of gateway.yaml validated and was applied, 0 when it was rejected")
LAST_SUCCESS = Gauge("clew_config_last_reload_success_timestamp_seconds",
                     "When the config in use was loaded (Unix time)")
INFO = Gauge("clew_config_info", "The gateway.yaml in use: always 1, labelled with the SHA-256 of its bytes",
             ["sha256"])
for _result in ("applied", "invalid"):
    RELOADS.labels(_result)

log = logging.getLogger("clew.config")
_current = {"sha256": ""}


def loaded(config: ConfigFile) -> None:
    """The config a process started with."""
    LAST_RELOAD_OK.set(1)
    _in_use(config.sha256)


def _in_use(sha256: str) -> None:
    if _current["sha256"] and _current["sha256"] != sha256:
        INFO.remove(_current["sha256"])  # one series at a time: the label set stays bounded
    _current["sha256"] = sha256
    INFO.labels(sha256).set(1)
    LAST_SUCCESS.set(time.time())


def record(config: ConfigFile, result: str | None, what: str = "") -> None:
    """Count and log the outcome of `config.reload_if_changed()` (None: nothing changed)."""
    if result is None:
        return
    RELOADS.labels(result).inc()
    fields = {"event": "config_reload", "result": result, "path": str(config.path), "sha256": config.sha256}
    if result == "invalid":
        LAST_RELOAD_OK.set(0)
        log.error("%s is invalid; the previous config keeps serving: %s", config.path, "; ".join(config.last_errors),
                  extra={"fields": {**fields, "errors": config.last_errors}})
        return
    LAST_RELOAD_OK.set(1)
    _in_use(config.sha256)
    log.info("%s reloaded%s", config.path, f": {what}" if what else "", extra={"fields": fields})
