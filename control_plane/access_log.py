"""One structured log line per control-plane request, carrying Envoy's x-request-id.

Outermost middleware: it sees the status the client got and how long it took, and it sets the
request id for every other line logged while serving the request (schemas.logs.REQUEST_ID). The
path is logged without its query string, and no header or body is: those carry credentials.
"""
import logging
import time

from aiohttp import web

from schemas.logs import REQUEST_ID

log = logging.getLogger("clew.control_plane.requests")


@web.middleware
async def access_log_middleware(request: web.Request, handler):
    REQUEST_ID.set(request.headers.get("x-request-id", ""))
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        if log.isEnabledFor(logging.INFO):
            fields = {"event": "http_request", "method": request.method, "path": request.path, "status": status,
                      "duration_ms": round((time.perf_counter() - started) * 1000, 1)}
            log.info("%s %s %s", request.method, request.path, status, extra={"fields": fields})
