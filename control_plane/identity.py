"""Trust in the identity the gateway forwards: only signed `x-clew-*` headers count."""
from aiohttp import web

from control_plane.errors import ApiError
from schemas import identity as signed
from schemas.identity import Identity

IDENTITY = web.AppKey("identity_secret", bytes)
# Reading is all a default-scope key may do on the control plane: every other method on a
# management route changes the account (keys, webhooks, billing, provider keys). Deciding by
# method here, not per handler, means a route added later is protected without anyone remembering.
READ_METHODS = frozenset({"GET", "HEAD"})
MANAGEMENT_NEEDED = ("This API key may call the AI routes and read; creating or revoking keys, webhooks, "
                     "billing changes and provider keys need a session or a key with the 'management' scope")


@web.middleware
async def identity_middleware(request: web.Request, handler):
    if any(name.lower().startswith(signed.PREFIX) for name in request.headers):
        # The path as Envoy saw and signed it: still percent-encoded (request.path is decoded).
        found = signed.verify(request.headers, request.app[IDENTITY], request.method, request.raw_path)
        if found is None:
            raise ApiError(401, "Invalid gateway identity", "invalid_identity")
        if request.method not in READ_METHODS and not found.may_manage:
            raise ApiError(403, MANAGEMENT_NEEDED, "insufficient_scope")
        request["identity"] = found
    return await handler(request)


def require_identity(request: web.Request) -> Identity:
    found = request.get("identity")
    if found is None:
        raise ApiError(401, "Missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'",
                       "invalid_api_key")
    return found
