"""OpenAI-shaped errors: `{"error": {"message", "type", "param", "code"}}`."""
from aiohttp import web

from plugins.simulator.bodies import dumps

_RETRYABLE_MESSAGES = {
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout.",
}


class ApiError(Exception):
    """Raised anywhere in request handling; the handler turns it into the JSON error response."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code, self.headers = param, code, headers

    def response(self) -> web.Response:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return web.json_response(body, status=self.status, headers=self.headers, dumps=dumps)


def invalid(param: str | None, message: str, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def not_found(method: str, path: str) -> ApiError:
    # OpenAI's own wording for an unknown route.
    return ApiError(404, f"Invalid URL ({method} {path})", code="unknown_url")


def injected(status: int, retry_after: int | None) -> ApiError:
    """The error an injected fault answers with, shaped like the real provider's."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    message = _RETRYABLE_MESSAGES.get(status, f"Simulated error {status}.")
    if status == 429:
        return ApiError(429, message, type="requests", code="rate_limit_exceeded", headers=headers)
    if status >= 500:
        return ApiError(status, message, type="server_error", headers=headers)
    return ApiError(status, message, headers=headers)
