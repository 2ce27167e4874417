"""Session tokens: short-lived JWTs the sidecar verifies without asking us."""
import secrets
import time

import jwt

from schemas.credentials import JWT_ALGORITHM, JWT_ISSUER


def issue_session_token(secret: bytes, account_id: str, session_epoch: int, ttl_seconds: int,
                        now: float | None = None) -> tuple[str, int]:
    """A signed token and its expiry (unix seconds). `sep` ties it to the account's session epoch,
    which a password reset bumps to invalidate every earlier token."""
    issued = int(now if now is not None else time.time())
    expires = issued + ttl_seconds
    claims = {"iss": JWT_ISSUER, "sub": account_id, "iat": issued, "exp": expires,
              "sep": session_epoch, "jti": secrets.token_hex(8)}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), expires
