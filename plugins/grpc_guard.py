"""Who may call the sidecar's gRPC services: Envoy, and nobody else.

The sidecar holds the pool's provider keys and decrypts accounts' own ones; anyone who could open an
ext_proc stream could ask for them. Two locks, each enough on its own against a caller on the network:
- it listens on Unix sockets in a directory only the gateway's user may enter (no TCP port at all);
- every call must carry the sidecar token (schemas.internal_api) in its gRPC metadata, which Envoy's
  rendered configuration sends; any other call is refused before a service sees it.
"""
import hmac
import os
from pathlib import Path

import grpc

from schemas.internal_api import MAX_SOCKET_PATH, SIDECAR_TOKEN_METADATA


class RequireSidecarToken(grpc.aio.ServerInterceptor):
    """Refuses (UNAUTHENTICATED) every call without the sidecar token, whatever service it names."""

    def __init__(self, token: str):
        self.token = token.encode()

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        sent = next((value for key, value in details.invocation_metadata or () if key == SIDECAR_TOKEN_METADATA), "")
        handler = await continuation(details)
        if handler is None or hmac.compare_digest(sent.encode() if isinstance(sent, str) else sent, self.token):
            return handler
        return _refusing(handler)


async def _refuse(_request, context: grpc.aio.ServicerContext):
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")


def _refusing(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that refuses the call without reading it."""
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(_refuse)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(_refuse)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(_refuse)
    return grpc.unary_unary_rpc_method_handler(_refuse)


def prepare_socket(path: Path) -> str:
    """The gRPC address for `path`, its directory made private (0700) first. A stale socket file
    from a previous run is replaced by gRPC itself."""
    if len(str(path).encode()) > MAX_SOCKET_PATH:
        raise SystemExit(f"the sidecar's socket path {path} is longer than a Unix socket allows "
                         f"({MAX_SOCKET_PATH} bytes): use a shorter CLEW_HOME")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)  # mkdir's mode is cut by the umask, and the directory may be older
    return f"unix:{path}"


def restrict_socket(path: Path) -> None:
    # The directory already keeps others out; the socket itself says the same.
    os.chmod(path, 0o600)
