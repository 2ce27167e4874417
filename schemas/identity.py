"""The identity the gateway forwards to the control plane, in signed `x-clew-*` headers.

Envoy strips every client-sent `x-clew-*` header before the sidecar runs, and the control plane
accepts these headers only with a valid HMAC over their values, the request method and path and a
recent timestamp, so a request that reaches the control plane any other way cannot impersonate anyone.
An API key's scope is signed too: it decides what the key may change, so it must not be forgeable.
"""
import hashlib
import hmac
import time
from dataclasses import dataclass

from schemas.credentials import MANAGEMENT_SCOPE

PREFIX = "x-clew-"
ACCOUNT_ID = "x-clew-account-id"
TIER = "x-clew-tier"
AUTH_METHOD = "x-clew-auth-method"
KEY_ID = "x-clew-key-id"
KEY_SCOPE = "x-clew-key-scope"
TIMESTAMP = "x-clew-identity-ts"
SIGNATURE = "x-clew-identity-signature"
MAX_AGE_SECONDS = 60


@dataclass(frozen=True)
class Identity:
    account_id: str
    tier: str
    method: str  # "session" or "api_key"
    key_id: str = ""
    scope: str = ""  # an API key's scope (schemas.credentials.KEY_SCOPES); empty for sessions

    @property
    def may_manage(self) -> bool:
        """May change the account (keys, webhooks, billing, provider keys): a session or a management key."""
        return self.method == "session" or (self.method == "api_key" and self.scope == MANAGEMENT_SCOPE)


def _digest(secret: bytes, identity: Identity, ts: str, method: str, path: str) -> str:
    path_only = path.split("?", 1)[0]
    message = "\n".join((identity.account_id, identity.tier, identity.method, identity.key_id,
                         identity.scope, ts, method.upper(), path_only))
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def sign(identity: Identity, secret: bytes, method: str, path: str, now: float | None = None) -> dict[str, str]:
    ts = str(int(now if now is not None else time.time()))
    return {
        ACCOUNT_ID: identity.account_id,
        TIER: identity.tier,
        AUTH_METHOD: identity.method,
        KEY_ID: identity.key_id,
        KEY_SCOPE: identity.scope,
        TIMESTAMP: ts,
        SIGNATURE: _digest(secret, identity, ts, method, path),
    }


def verify(headers, secret: bytes, method: str, path: str, now: float | None = None) -> Identity | None:
    """The identity in `headers` if its signature is valid and fresh, else None."""
    signature, ts = headers.get(SIGNATURE), headers.get(TIMESTAMP, "")
    if not signature or not ts.isdigit():
        return None
    if abs((now if now is not None else time.time()) - int(ts)) > MAX_AGE_SECONDS:
        return None
    identity = Identity(headers.get(ACCOUNT_ID, ""), headers.get(TIER, ""),
                        headers.get(AUTH_METHOD, ""), headers.get(KEY_ID, ""), headers.get(KEY_SCOPE, ""))
    if not identity.account_id:
        return None
    expected = _digest(secret, identity, ts, method, path)
    return identity if hmac.compare_digest(expected, signature) else None
