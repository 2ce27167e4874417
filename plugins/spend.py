"""The spend plugin: an API key's monthly budget and the account's monthly spend cap, in money.

A request that either limit applies to reserves what it can cost at most before the provider is
called, against both limits at once (plugins.spend_store): its token reservation priced at the
model's prices (the prompt estimate at the input price, the completion cap at the output price, the
dearest candidate of a router), `n` images or one video at their unit price, an embedding's input at
its price; for BYOK, the platform fee on that. A request that does not fit gets 429 — `budget_exceeded`
for the key's budget, `spend_cap_reached` for the account's cap, both of OpenAI's type
insufficient_quota — and the provider is never called. When the request ends, however it ends, the
reservation is replaced by what the ledger charges it (plugins.metering.request_cost_nanos): nothing
for a refusal or a failure, the relayed part of a cut stream. A video keeps its price reserved from its
creation until the poll that bills it, and gives it back if it fails, as the quota does with its tokens.

The account's cap is the lower of its tier's `monthly_spend_cap_usd` (gateway.yaml) and its own
(PATCH /v1/billing/spend_cap). Requests under neither limit skip all of this: no counter is touched.
"""
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from plugins.chain import Plugin
from plugins.context import Reject, RequestContext
from plugins.metering import charged_nanos, request_cost_nanos
from plugins.quota import DEFAULT_COMPLETION_CAP
from plugins.spend_store import ACCOUNT, Limit, Verdict, key_field, month_of
from plugins.usage_estimate import completion_cap, prompt_tokens
from schemas.pricing import format_usd
from schemas.spend import effective_cap_nanos

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reservation:
    month: str
    gen: str            # the counters' generation it was added to
    fields: tuple[str, ...]
    nanos: int


def account_cap_nanos(ctx: RequestContext) -> int | None:
    """The account's monthly cap: the lower of its tier's and its own; None when neither has one."""
    return effective_cap_nanos(ctx.runtime.tier(ctx.identity.tier),
                               ctx.account.spend_cap_nanos if ctx.account is not None else None)


def limits(ctx: RequestContext) -> list[Limit]:
    found = []
    key = ctx.key
    if key is not None and key.monthly_budget_nanos is not None:
        found.append(Limit(key_field(key.key_id), key.monthly_budget_nanos))
    cap = account_cap_nanos(ctx)
    if cap is not None:
        found.append(Limit(ACCOUNT, cap))
    return found


def _chat_most(ctx: RequestContext, request: dict) -> int:
    """A chat request's dearest outcome: its prompt estimate and completion cap at the prices of the model,
    or of the dearest of a router's candidates (any of them may serve it)."""
    state, runtime = ctx.state, ctx.runtime
    names = runtime.config.routers[state.router]["candidates"] if state.router else [state.model.name]
    prompt = prompt_tokens(request)
    return max(runtime.models[name].price.cost_nanos(prompt, completion_cap(
        request, runtime.config.models[name].get("max_output_tokens") or DEFAULT_COMPLETION_CAP))
        for name in names)


def reservation_nanos(ctx: RequestContext) -> int | None:
    """The most the request can be charged, or None for a request that is not charged (a video's status)."""
    state = ctx.state
    if state.model is None:
        return None
    if state.units is not None:  # images asked for, a video to make
        pool = state.units * state.model.unit_nanos
    elif state.reserve_tokens is not None:  # estimated by the endpoint's plugin (embeddings: their input)
        pool = state.model.price.cost_nanos(state.reserve_tokens, 0)
    elif state.request is None:
        return None
    else:
        pool = _chat_most(ctx, state.request)
    return charged_nanos(state, pool)


def spent_nanos(ctx: RequestContext) -> int:
    """What the request's reservation settles to."""
    state = ctx.state
    if not state.via_upstream or state.model is None:  # refused, or Envoy's own reply: nothing charged
        return 0
    if not state.meter:  # a video: billed when it is done, its price held until then
        return state.units_served * state.model.unit_nanos
    return request_cost_nanos(ctx)


WHAT = "its prompt and max_tokens, or its images or video, at the model's prices"


def _refusal(ctx: RequestContext, verdict: Verdict, amount: int) -> Reject:
    limit = verdict.refused
    if limit.field == ACCOUNT:
        code = "spend_cap_reached"
        if ctx.account is not None and ctx.account.spend_cap_nanos == limit.nanos:
            whose, fix = "your account's monthly spend cap", "raise the cap (PATCH /v1/billing/spend_cap)"
        else:
            whose, fix = f"the {ctx.identity.tier} tier's monthly spend cap", "upgrade your tier"
    else:
        code, whose = "budget_exceeded", "this API key's monthly budget"
        fix = f"raise its budget (PATCH /v1/keys/{ctx.key.key_id}) or use another key"
    cap, cost = format_usd(limit.nanos), format_usd(amount)
    if verdict.counter < 0:  # more than the whole limit
        message = (f"This request may cost up to ${cost} ({WHAT}), more than {whose} of ${cap}. "
                   f"Send a lower max_tokens or a shorter request, or {fix}.")
    elif verdict.counter >= limit.nanos:
        message = f"You have reached {whose} of ${cap}: {fix}, or wait for next month (UTC)."
    else:
        message = (f"This request may cost up to ${cost} ({WHAT}), but ${format_usd(limit.nanos - verdict.counter)} "
                   f"of {whose} of ${cap} remain. Send a lower max_tokens or a shorter request, {fix}, or wait "
                   "for next month (UTC).")
    return Reject(429, message, code, type_="insufficient_quota", reason=code)


class SpendPlugin(Plugin):
    name = "spend"
    priority = 690  # after quota (700): the model, the request and whose key are known

    def __init__(self, store, clock):
        self.store, self.clock = store, clock

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        applying = limits(ctx)
        if not applying:
            return
        amount = reservation_nanos(ctx)
        if not amount:  # nothing to charge (BYOK with no platform fee, a video's status): nothing to hold
            return
        month = month_of(self.clock())
        whole = next((limit for limit in applying if amount > limit.nanos), None)
        # More than a whole limit: no store call (nor a number Lua could not hold exactly).
        verdict = (Verdict(False, refused=whole, counter=-1) if whole is not None
                   else await self.store.reserve(ctx.identity.account_id, month, amount, applying))
        if not verdict.admitted:
            raise _refusal(ctx, verdict, amount)
        ctx.state.spend_reservation = Reservation(month, verdict.gen, tuple(limit.field for limit in applying),
                                                  amount)

    async def on_complete(self, ctx: RequestContext) -> None:
        state = ctx.state
        if state.quota_refund is not None and state.model is not None:  # a failed video: its price back
            created = datetime.fromtimestamp(state.quota_refund[0], UTC)
            fields = [ACCOUNT] + ([key_field(ctx.key.key_id)] if ctx.key is not None else [])
            await self._settle(ctx, month_of(created), "", fields, -state.model.unit_nanos)
        held = state.spend_reservation
        if held is not None:
            await self._settle(ctx, held.month, held.gen, list(held.fields), spent_nanos(ctx) - held.nanos)

    async def _settle(self, ctx: RequestContext, month: str, gen: str, fields: list[str], delta: int) -> None:
        try:
            await self.store.settle(ctx.identity.account_id, month, gen, fields, delta)
        except Exception:  # the counters are rebuilt from the ledger when next missing
            log.exception("could not settle the spend of request %s", ctx.request_id)
