"""The quota plugin: each tier's monthly tokens, reserved before the call and settled after it.

The reservation is an estimate of what the request can cost: its prompt (about four characters a
token, plus a little per message and per image) and its completion cap (`max_tokens`, or the
model's `max_output_tokens`, or a default). Settlement replaces it with what the provider reported.
"""
import logging

from plugins.chain import Plugin
from plugins.context import Reject, RequestContext
from plugins.quota_store import month_of
from plugins.router import is_chat

log = logging.getLogger(__name__)
DEFAULT_COMPLETION_CAP = 4096
TOKENS_PER_MESSAGE = 4
TOKENS_PER_IMAGE = 85


def _text_length(content) -> tuple[int, int]:
    """Characters of text and number of images in a message's content."""
    if isinstance(content, str):
        return len(content), 0
    if not isinstance(content, list):
        return 0, 0
    text = sum(len(p.get("text") or "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    images = sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return text, images


def estimate(request: dict, completion_cap: int) -> int:
    tokens = 0
    for message in request["messages"]:
        chars, images = _text_length(message.get("content"))
        tokens += TOKENS_PER_MESSAGE + (chars + 3) // 4 + images * TOKENS_PER_IMAGE
    cap = request.get("max_completion_tokens") or request.get("max_tokens") or completion_cap
    return tokens + cap


def _exhausted(quota: int, tier: str) -> Reject:
    return Reject(429, f"You exceeded your monthly quota of {quota:,} tokens on the {tier} tier. "
                       "Upgrade your tier or wait for next month.", "insufficient_quota",
                  type_="insufficient_quota", reason="insufficient_quota")


class QuotaPlugin(Plugin):
    name = "quota"
    priority = 700  # after the router: the estimate needs the parsed request and the model

    def __init__(self, store, runtime, clock):
        self.store, self.runtime, self.clock = store, runtime, clock

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        if not is_chat(ctx) or ctx.state.get("key_source") == "byok":  # tokens we pay for
            return
        quota = self.runtime.current.tier(ctx.identity.tier)["monthly_tokens"]
        if quota is None:  # unlimited
            return
        model_cap = self.runtime.current.config.models[ctx.state["model"].name].get("max_output_tokens")
        reserved = estimate(ctx.state["request"], model_cap or DEFAULT_COMPLETION_CAP)
        month = month_of(self.clock())
        admitted, _ = await self.store.reserve(ctx.identity.account_id, month, reserved, quota)
        if not admitted:
            raise _exhausted(quota, ctx.identity.tier)
        ctx.state["quota_reservation"] = (month, reserved)

    async def on_complete(self, ctx: RequestContext) -> None:
        reservation = ctx.state.get("quota_reservation")
        if reservation is None:
            return
        month, reserved = reservation
        usage = ctx.state.get("usage") or {}
        actual = sum(v for k in ("prompt_tokens", "completion_tokens") if isinstance(v := usage.get(k), int))
        if ctx.state.get("key_source") == "byok":  # a router's attempt used the account's own key
            actual = 0
        try:
            await self.store.settle(ctx.identity.account_id, month, actual - reserved)
        except Exception:  # the next rebuild from the ledger corrects the counter
            log.exception("could not settle the quota of request %s", ctx.request_id)
