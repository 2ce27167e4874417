"""The rate-limit plugin: each tier's requests per minute, per account, and a key's own
`requests_per_minute` (at most the tier's) on top: a request counts in both windows or in neither.

Every AI response carries the limit's state, under the seed's names (X-RateLimit-Limit,
X-RateLimit-Remaining) and OpenAI's (x-ratelimit-limit-requests, x-ratelimit-remaining-requests,
x-ratelimit-reset-requests), which SDKs and tools read; a request over the limit gets 429 with
Retry-After. The provider's own headers of that kind never reach the client (plugins.metering).
Every AI endpoint counts on the account's one counter, except those with a counter of their own
(plugins.endpoints: Anthropic's count_tokens, which Anthropic too limits apart from messages); a
key's limit applies on each counter as the tier's does. The headers describe the tightest window: a
key limited to 2 per minute shows 2 and what is left of its 2.
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
        self.counter = f":{counter}" if counter else ""  # "": the account's one counter, every endpoint's

    async def on_request_headers(self, ctx: RequestContext) -> None:
        tier = ctx.identity.tier
        limits = [(self.counter, ctx.runtime.tier(tier)["requests_per_minute"])]
        key = ctx.key
        if key is not None and key.requests_per_minute is not None:
            limits.append((f"{self.counter}:key:{key.key_id}", key.requests_per_minute))
        verdicts = await self.windows.hit_all(ctx.identity.account_id, limits, WINDOW_SECONDS, ctx.request_id)
        (window, limit), verdict = _tightest(limits, verdicts)
        reset = max(1, math.ceil(verdict.reset_seconds))
        headers = {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(verdict.remaining),
                   "x-ratelimit-limit-requests": str(limit), "x-ratelimit-remaining-requests": str(verdict.remaining),
                   "x-ratelimit-reset-requests": f"{reset}s"}
        ctx.response_headers.update(headers)
        if not verdict.allowed:
            whose = f"on the {tier} tier" if window == self.counter else "for this API key"
            advice = " or upgrade your tier" if window == self.counter else ""
            raise Reject(429, f"Rate limit reached: {limit} requests per minute {whose}. "
                              f"Try again in {reset}s{advice}.",
                         "rate_limit_exceeded", {**headers, "retry-after": str(reset)}, type_="requests")


def _tightest(limits: list, verdicts: list) -> tuple:
    """The window the headers describe: of those that refused, the one that frees up last (the client must
    wait for it); else the one with the fewest requests left, the smaller limit on a tie (the key's 2 of 2)."""
    pairs = list(zip(limits, verdicts, strict=True))
    refused = [pair for pair in pairs if not pair[1].allowed]
    if refused:
        return max(refused, key=lambda pair: pair[1].reset_seconds)
    return min(pairs, key=lambda pair: (pair[1].remaining, pair[0][1]))
