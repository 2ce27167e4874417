"""The rate-limit plugin: each tier's requests per minute, per account.

Every AI response carries the limit's state, under the seed's names (X-RateLimit-Limit,
X-RateLimit-Remaining) and OpenAI's (x-ratelimit-limit-requests, x-ratelimit-remaining-requests,
x-ratelimit-reset-requests), which SDKs and tools read; a request over the limit gets 429 with
Retry-After. The provider's own headers of that kind never reach the client (plugins.metering).
Every AI endpoint counts on the account's one counter, except those with a counter of their own
(plugins.endpoints: Anthropic's count_tokens, which Anthropic too limits apart from messages).
"""
import math

from plugins.chain import Plugin
from plugins.context import Reject, RequestContext

WINDOW_SECONDS = 60.0


class RateLimitPlugin(Plugin):
    name = "rate_limit"
    priority = 900

    def __init__(self, windows, counter: str = ""):
        self.windows = windows
        self.counter = counter  # "": the account's one counter, every endpoint's; else a counter of its own

    async def on_request_headers(self, ctx: RequestContext) -> None:
        tier = ctx.identity.tier
        limit = ctx.runtime.tier(tier)["requests_per_minute"]
        subject = f"{ctx.identity.account_id}:{self.counter}" if self.counter else ctx.identity.account_id
        verdict = await self.windows.hit(subject, limit, WINDOW_SECONDS, ctx.request_id)
        reset = max(1, math.ceil(verdict.reset_seconds))
        headers = {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(verdict.remaining),
                   "x-ratelimit-limit-requests": str(limit), "x-ratelimit-remaining-requests": str(verdict.remaining),
                   "x-ratelimit-reset-requests": f"{reset}s"}
        ctx.response_headers.update(headers)
        if not verdict.allowed:
            raise Reject(429, f"Rate limit reached: {limit} requests per minute on the {tier} tier. "
                              f"Try again in {reset}s or upgrade your tier.",
                         "rate_limit_exceeded", {**headers, "retry-after": str(reset)}, type_="requests")
