"""MiniMax's envelope: every answer carries `base_resp`, and most failures come as HTTP 200 with a
non-zero `base_resp.status_code` rather than as an HTTP error."""
from aiohttp import web

from plugins.simulator.bodies import PROVIDER_LIMIT_HEADERS, dumps

INVALID_PARAMS = 2013
AUTH_FAILED = 1004


class MiniMaxError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def response(self) -> web.Response:
        return web.json_response({"base_resp": {"status_code": self.code, "status_msg": self.message}}, dumps=dumps)


def invalid_params(message: str) -> MiniMaxError:
    return MiniMaxError(INVALID_PARAMS, f"invalid params, {message}")


def ok(body: dict) -> web.Response:
    return web.json_response({**body, "base_resp": {"status_code": 0, "status_msg": "success"}}, dumps=dumps,
                             headers=PROVIDER_LIMIT_HEADERS)


def check_key(headers) -> str:
    scheme, _, key = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise MiniMaxError(AUTH_FAILED, "login fail: Please carry the API secret key in the 'Authorization' field "
                                        "of the request header")
    return key.strip()


def forced_failure(headers) -> MiniMaxError | None:
    """`x-sim-base-status: N` makes the call fail with MiniMax status N (1026: sensitive content...)."""
    raw = headers.get("x-sim-base-status")
    if raw is None:
        return None
    code = int(raw) if raw.strip().isdigit() else 1000
    return MiniMaxError(code, f"simulated failure {code}")
