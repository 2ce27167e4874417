"""Trust in the identity the gateway forwards: only signed `x-clew-*` headers count."""
from aiohttp import web

from control_plane.errors import ApiError
from schemas import identity as signed
from schemas.identity import Identity

IDENTITY = web.AppKey("identity_secret", bytes)


@web.middleware
async def identity_middleware(request: web.Request, handler):
    if any(name.lower().startswith(signed.PREFIX) for name in request.headers):
        found = signed.verify(request.headers, request.app[IDENTITY], request.method, request.path)
        if found is None:
            raise ApiError(401, "Invalid gateway identity", "invalid_identity")
        request["identity"] = found
    return await handler(request)


def require_identity(request: web.Request) -> Identity:
    found = request.get("identity")
    if found is None:
        raise ApiError(401, "Missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'",
                       "invalid_api_key")
    return found
