"""The auth plugin: who is calling, from a session JWT or an API key.

Accepted: `Authorization: Bearer <session JWT>`, `Authorization: Bearer sk-clew-…` (what the
OpenAI SDKs send) and `X-API-Key: sk-clew-…`.
"""
import logging
from datetime import UTC, datetime

import jwt

from plugins.chain import Plugin
from plugins.context import Reject, RequestContext
from plugins.identity_store import IdentityStore, IdentityUnavailable
from schemas.credentials import JWT_ALGORITHM, JWT_ISSUER, key_digest, looks_like_api_key
from schemas.identity import Identity

log = logging.getLogger(__name__)
MISSING = "Missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'"


def _unauthorized(message: str, code: str, reason: str) -> Reject:
    return Reject(401, message, code, {"www-authenticate": 'Bearer realm="clew"'}, reason)


def _unavailable() -> Reject:
    return Reject(503, "Credentials cannot be checked right now; retry shortly", "service_unavailable",
                  {"retry-after": "1"}, "identity_unavailable", type_="server_error")


def credential(headers: dict[str, str]) -> str | None:
    api_key = headers.get("x-api-key", "").strip()
    if api_key:
        return api_key
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class AuthPlugin(Plugin):
    name = "auth"
    priority = 1000

    def __init__(self, store: IdentityStore, jwt_secret: bytes):
        self.store, self.jwt_secret = store, jwt_secret

    async def on_request_headers(self, ctx: RequestContext) -> None:
        token = credential(ctx.headers)
        if token is None:
            raise _unauthorized(MISSING, "missing_api_key", "missing")
        try:
            if looks_like_api_key(token):
                ctx.identity = await self._from_api_key(ctx, token)
            else:
                ctx.identity = await self._from_session(ctx, token)
        except IdentityUnavailable as exc:
            log.warning("identity lookup failed: %s", exc)
            raise _unavailable() from None

    async def _from_api_key(self, ctx: RequestContext, key: str) -> Identity:
        record = await self.store.key(key_digest(key))
        account = await self.store.account(record.account_id) if record else None
        # Expiry is checked now, against the cached record: a key is refused from the second it expires,
        # with nothing to evict. An expired key is answered exactly like a revoked one.
        if not account or record.expired(datetime.now(UTC)):
            # OpenAI's wording; the key itself never appears in messages or logs.
            raise _unauthorized(f"Incorrect API key provided: {key[:12]}...{key[-4:]}", "invalid_api_key",
                                "expired_key" if account else "unknown_key")
        ctx.account, ctx.key = account, record
        return Identity(account.account_id, account.tier, "api_key", record.key_id, record.scope)

    async def _from_session(self, ctx: RequestContext, token: str) -> Identity:
        try:
            claims = jwt.decode(token, self.jwt_secret, algorithms=[JWT_ALGORITHM], issuer=JWT_ISSUER,
                                options={"require": ["exp", "iat", "sub", "sep"]})
        except jwt.ExpiredSignatureError:
            raise _unauthorized("Session token has expired; log in again", "token_expired", "expired") from None
        except jwt.InvalidTokenError:
            raise _unauthorized("Invalid session token or API key", "invalid_api_key", "malformed") from None
        account = await self.store.account(str(claims["sub"]))
        if account is None or account.session_epoch != claims["sep"]:
            raise _unauthorized("Session token is no longer valid; log in again", "token_revoked",
                                "session_revoked")
        ctx.account = account
        return Identity(account.account_id, account.tier, "session")
