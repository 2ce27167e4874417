"""Every control-plane error leaves as OpenAI-shaped JSON with the right status."""
import logging

from aiohttp import web

from schemas.errors import error_body
from schemas.outages import is_outage

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "2"


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}


def error_response(status: int, message: str, code: str | None = None, param: str | None = None,
                   headers: dict | None = None) -> web.Response:
    return web.json_response(error_body(status, message, code, param), status=status, headers=headers)


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    if exc.status == 404:
        return error_response(404, f"Unknown request URL: {request.method} {request.path}", "unknown_url")
    if exc.status == 405:
        return error_response(405, f"Method {request.method} is not allowed on {request.path}",
                              "method_not_allowed", headers={"Allow": exc.headers.get("Allow", "")})
    if exc.status == 413:
        return error_response(413, "Request body is too large", "request_too_large")
    return error_response(exc.status, exc.reason, None)


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.code, exc.param, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http_exception(request, exc)
    except Exception as exc:
        if is_outage(exc):
            # The driver's own words only: SQLAlchemy's message would carry the query's parameters.
            log.warning("%s %s: a dependency is unavailable: %s: %s", request.method, request.path,
                        type(exc).__name__, getattr(exc, "orig", None) or exc)
            return error_response(503, "The service is briefly unavailable; retry shortly", "service_unavailable",
                                  headers={"Retry-After": RETRY_AFTER_SECONDS})
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "The server had an error while processing your request", "internal_error")
