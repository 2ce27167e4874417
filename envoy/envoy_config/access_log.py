"""Envoy's access log: one JSON line per request, credential-free, tied to the x-request-id clients see."""
from pathlib import Path

from schemas.settings import Settings

from .protos import type_url

# What the access log says about each request: one JSON object per line. The path leaves its query
# out (a client could put a credential there); no header that carries a credential is named.
ACCESS_LOG_FORMAT = {
    "time": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ_WITHOUT_QUERY(:PATH)%",
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%",
    "response_code_details": "%RESPONSE_CODE_DETAILS%",
    "duration_ms": "%DURATION%",
    "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%",
    "upstream_attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    # 0: the provider never answered, so no usage was metered (plugins.deliveries skips the line).
    "upstream_bytes_received": "%UPSTREAM_WIRE_BYTES_RECEIVED%",
    "tier": "%RESP(X-TIER)%",
    "cost_usd": "%RESP(X-COST-USD)%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "user_agent": "%REQ(USER-AGENT)%",
}


# Anonymous CLI instances report here: the gateway keeps no address of theirs, not even in its log.
ANONYMOUS_PATHS = "/v1/telemetry/"


def _file_log(path: str, fields: dict, anonymous: bool) -> dict:
    return {"name": "envoy.access_loggers.file", "filter": {"header_filter": {"header": {
        "name": ":path", "string_match": {"prefix": ANONYMOUS_PATHS}, "invert_match": not anonymous}}},
        "typed_config": {
            "@type": type_url("envoy.extensions.access_loggers.file.v3.FileAccessLog"),
            "path": path,
            "log_format": {"json_format": fields, "formatters": [
                {"name": "envoy.formatter.req_without_query", "typed_config": {
                    "@type": type_url("envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery")}}]},
        }}


def access_log(path: str) -> list[dict]:
    """Two loggers into one file: every request once, by the first, or by the second without its client."""
    anonymous = {name: value for name, value in ACCESS_LOG_FORMAT.items() if name != "client"}
    return [_file_log(path, ACCESS_LOG_FORMAT, anonymous=False), _file_log(path, anonymous, anonymous=True)]


def log_requests(hcm: dict, settings: Settings) -> None:
    """An access log line per request, and its x-request-id on the response: what a client quotes to
    support is what every component's log lines carry."""
    hcm["access_log"] = [logger for path in log_paths(settings) for logger in access_log(path)]
    hcm["always_set_request_id_in_response"] = True


def log_paths(settings: Settings) -> list[str]:
    """The access log, and the file sidecar 0 reconciles deliveries from when that is another one (in
    containers the access log goes to stdout, and the reconciler needs a file: the same lines, twice)."""
    main = access_log_path(settings)
    return [main] + ([settings.delivery_log] if settings.delivery_log and settings.delivery_log != main else [])


def access_log_path(settings: Settings) -> str:
    # Beside the watched directory, never in it: a file appearing there would not reload Envoy,
    # but it has no business among the config files either.
    return settings.envoy_access_log or str(Path(settings.home) / "log" / "envoy-access.log")


def ensure_log_directory(settings: Settings) -> None:
    # Envoy opens the access log at startup and does not create its directory.
    for path in log_paths(settings):
        if not path.startswith("/dev/"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
