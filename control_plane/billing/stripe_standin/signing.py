"""Stripe's webhook signature scheme, so that the real SDK's Webhook.construct_event accepts ours.

Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 keyed by the endpoint's signing secret
over "<t>.<raw body>">. Tests sign their own events with it too.
"""
import hashlib
import hmac
import time


def signature_header(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    signed_at = int(time.time()) if timestamp is None else timestamp
    body = payload.decode() if isinstance(payload, bytes) else payload
    digest = hmac.new(secret.encode(), f"{signed_at}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={signed_at},v1={digest}"
