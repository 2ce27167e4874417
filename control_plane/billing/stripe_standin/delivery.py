"""Sending events to the gateway's webhook endpoint, signed as Stripe signs them."""
import json

import aiohttp

from control_plane.billing.stripe_standin.signing import signature_header


class Deliverer:
    def __init__(self, session: aiohttp.ClientSession, url: str, secret: str):
        self.session, self.url, self.secret = session, url, secret

    async def deliver(self, event: dict) -> dict:
        """POST one event (a fresh signature each time, like Stripe's retries); the endpoint's reply."""
        if not self.url:
            return {"status": None, "error": "no webhook URL configured (--webhook-url)"}
        payload = json.dumps(event, indent=2)
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (stand-in)",
                   "Stripe-Signature": signature_header(payload, self.secret)}
        try:
            async with self.session.post(self.url, data=payload.encode(), headers=headers) as response:
                return {"status": response.status, "body": await response.text()}
        except (aiohttp.ClientError, TimeoutError) as exc:
            return {"status": None, "error": f"{type(exc).__name__}: {exc}"}
