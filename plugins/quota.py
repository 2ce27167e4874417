"""The quota plugin: each tier's monthly tokens, reserved before the call and settled after it.

The reservation is what the request can count at most: for chat, its prompt estimate plus its
completion cap (`max_tokens`, or the model's `max_output_tokens`, or a default); for images, the
images asked for times the model's `quota_tokens_per_image`; for a video, `quota_tokens_per_video`.
A request whose reservation does not fit what is left of the month gets 429 insufficient_quota
before any provider call, so the month is exceeded by no more than one prompt's estimation error.
Settlement replaces the reservation with what the request counted (plugins.usage_estimate): the
provider's usage, the estimate of a stream cut short, the images returned; a video's tokens stay
reserved until it is done, and are given back if it fails.
"""
import logging
from datetime import UTC, datetime

from plugins.chain import Plugin
from plugins.context import Reject, RequestContext
from plugins.quota_store import month_of
from plugins.usage_estimate import completion_cap, counted, prompt_tokens

log = logging.getLogger(__name__)
DEFAULT_COMPLETION_CAP = 4096


def estimate(request: dict, default_cap: int) -> int:
    return prompt_tokens(request) + completion_cap(request, default_cap)


def _insufficient(quota: int, used: int, reserved: int, tier: str) -> Reject:
    if used >= quota:
        message = (f"You exceeded your monthly quota of {quota:,} tokens on the {tier} tier. "
                   "Upgrade your tier or wait for next month.")
    else:
        message = (f"This request may count up to {reserved:,} tokens (its prompt and max_tokens, or its images "
                   f"or video), but {quota - used:,} of your monthly quota of {quota:,} tokens on the {tier} tier "
                   "remain. Send a shorter request or a lower max_tokens, upgrade your tier, or wait for next month.")
    return Reject(429, message, "insufficient_quota", type_="insufficient_quota", reason="insufficient_quota")


class QuotaPlugin(Plugin):
    name = "quota"
    priority = 700  # after the router, images and video: the estimate needs the parsed request and the model

    def __init__(self, store, clock):
        self.store, self.clock = store, clock

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        reserved = self._reservation(ctx)
        if reserved is None:
            return
        quota = ctx.runtime.tier(ctx.identity.tier)["monthly_tokens"]
        if quota is None:  # unlimited
            return
        month = month_of(self.clock())
        # Never more than the whole quota: no store call (nor a number Redis cannot hold).
        admitted, used = (False, 0) if reserved > quota else await self.store.reserve(
            ctx.identity.account_id, month, reserved, quota)
        if not admitted:
            raise _insufficient(quota, used, reserved, ctx.identity.tier)
        ctx.state.quota_reservation = (month, reserved)

    def _reservation(self, ctx: RequestContext) -> int | None:
        """The tokens to reserve, or None for a request the quota does not count."""
        state = ctx.state
        if state.key_source == "byok" or state.model is None:  # only tokens we pay for
            return None
        if state.reserve_tokens is not None:  # estimated by the endpoint's plugin (embeddings: their input)
            return state.reserve_tokens
        if state.units is not None:  # images asked for, a video to make
            return state.units * state.model.unit_tokens
        if state.request is None:  # a video's status or content: nothing to count
            return None
        model_cap = ctx.runtime.config.models[state.model.name].get("max_output_tokens")
        return estimate(state.request, model_cap or DEFAULT_COMPLETION_CAP)

    async def on_complete(self, ctx: RequestContext) -> None:
        refund = ctx.state.quota_refund  # (unix time the tokens were reserved, tokens): a failed video
        if refund is not None:
            await self._settle(ctx, month_of(datetime.fromtimestamp(refund[0], UTC)), -refund[1])
        reservation = ctx.state.quota_reservation
        if reservation is None:
            return
        month, reserved = reservation
        actual = counted(ctx.state).total
        if ctx.state.key_source == "byok":  # a router's attempt used the account's own key
            actual = 0
        await self._settle(ctx, month, actual - reserved)

    async def _settle(self, ctx: RequestContext, month: str, delta: int) -> None:
        try:
            await self.store.settle(ctx.identity.account_id, month, delta)
        except Exception:  # the next rebuild from the ledger corrects the counter
            log.exception("could not settle the quota of request %s", ctx.request_id)
