"""Envoy's runtime: the reloadable features the gateway sets differently from Envoy's defaults.

ext_proc streams end with a half-close, not a reset. By default Envoy ends each request's ext_proc
stream by half-closing and resetting it in the same breath, so the sidecar sees every call cancelled.
grpcio's aio server (1.85 and earlier) then never frees the batch it had in flight for that call, a
receive or the final status (grpc/grpc#43360): 270-320 bytes of native memory per request, for
good (each sidecar grew 1.6 MB a minute under `make soak`). With graceful close Envoy
half-closes and waits for the sidecar's status, which the sidecar sends as soon as it reads the
end of the stream, so no call is cancelled and nothing leaks. A stream whose status has not come
after REMOTE_CLOSE_MILLISECONDS is reset as before (a stuck sidecar cannot pin Envoy's memory).
"""
GRACEFUL_CLOSE = "envoy.reloadable_features.ext_proc_graceful_grpc_close"
REMOTE_CLOSE_TIMEOUT = "envoy.filters.http.ext_proc.remote_close_timeout_milliseconds"
# Envoy's default is 1 s; a sidecar busy for longer than that would still be cancelled, and leak.
REMOTE_CLOSE_MILLISECONDS = 5000


def layered_runtime() -> dict:
    # The admin layer lets an operator change a value on the running Envoy (POST /runtime_modify on
    # the loopback admin port) while diagnosing; a restart goes back to the static layer.
    return {"layers": [
        {"name": "clew", "static_layer": {GRACEFUL_CLOSE: True, REMOTE_CLOSE_TIMEOUT: REMOTE_CLOSE_MILLISECONDS}},
        {"name": "admin", "admin_layer": {}},
    ]}
