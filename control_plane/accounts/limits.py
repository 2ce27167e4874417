"""Limits on the public account routes: requests per client address per hour (gateway.yaml's
auth.per_ip_per_hour) and reset mails per email per hour. Counted with the same per-IP limiter as
telemetry, before any slow work (a password hash, a mail) is done."""
import hashlib
import hmac

from aiohttp import web

from control_plane.errors import ApiError
from control_plane.ip_limits import LIMITER, address_hash, client_address
from control_plane.metrics import AUTH_FAILURES
from control_plane.services import services

HOUR = 3600
_WHAT = {"signup": "sign-up", "login": "login", "password_reset": "password reset"}


async def admit_address(request: web.Request, route: str) -> str:
    """The caller's address (its salted hash), or 429 once this hour's `route` requests from it are spent."""
    svc = services(request)
    address = address_hash(svc.settings.internal_secret, client_address(request))
    limit = svc.config.auth_per_ip_per_hour[route]
    verdict = await request.app[LIMITER].hit(f"auth-{route}:{address}", limit, HOUR)
    if not verdict.allowed:
        AUTH_FAILURES.labels(f"{route}_address_limited").inc()
        raise ApiError(429, f"Too many {_WHAT[route]} requests from your address; retry in {verdict.retry_after} s",
                       "rate_limit_exceeded", headers=verdict.headers())
    return address


async def may_send_reset_mail(request: web.Request, email: str) -> bool:
    """Count one reset mail to `email`; False once this hour's are spent (the mail is then not sent)."""
    svc = services(request)
    subject = hmac.new(svc.settings.internal_secret, b"reset-mail\n" + email.encode(), hashlib.sha256).hexdigest()[:32]
    verdict = await request.app[LIMITER].hit(f"reset-mail:{subject}", svc.config.reset_mails_per_email_per_hour, HOUR)
    return verdict.allowed
