"""The metering plugin: price what the provider reports, tell the client, and queue a usage event.

Non-streaming responses get `X-Cost-USD`; streams get the cost in the body (see plugins.sse).
Only what went upstream is metered: Envoy's own replies (no route, connect failure) are not.
A request sent with the account's own key (BYOK, plugins.byok) is charged the platform fee only.
Prompt tokens the provider reports as read from its cache are priced at the model's `cached_input`.
A stream that ends early is billed for its prompt and the completion it relayed, estimated where
the provider's usage never arrived (plugins.usage_estimate). The provider's own rate-limit and
account headers stay here: the client sees ours (plugins.rate_limit).
"""
import json
import logging
import time
from fractions import Fraction

from plugins.byok import mark_byok
from plugins.chain import Plugin
from plugins.context import Reject, RequestContext, RequestState
from plugins.metrics import COST, REQUESTS, TOKENS, UPSTREAM_LATENCY
from plugins.translators.openai_chat_openai_chat import TRANSLATOR as OPENAI_CHAT
from plugins.usage_estimate import Counted, counted, tokens_of_bytes
from schemas.events import UsageEvent
from schemas.internal_api import KEY_SOURCE_HEADER, MODEL_HEADER, SERVED_BY_HEADER
from schemas.pricing import format_usd

log = logging.getLogger(__name__)
INCOMPLETE = 499  # the ledger's status for a stream that ended before its response did (nginx's "client closed")
# The provider's limits are the pool's, not the account's, and its account names are the operator's.
PROVIDER_HEADER_PREFIXES = ("x-ratelimit-", "x-rate-limit-", "ratelimit", "anthropic-ratelimit-", "retry-after",
                            "openai-organization", "openai-project")


def _tokens(translator, usage: dict) -> tuple[int, int, int]:
    """(input, output, cached input) tokens of the provider's usage, as the request's translator reads it:
    what TokenPrice.cost_nanos takes (cached tokens are part of the input, at the cached price)."""
    normalized = translator.usage(usage)
    return normalized.input_tokens, normalized.output_tokens, normalized.cached_input_tokens


def byok_cost_nanos(pool_nanos: int, fee: Fraction) -> int:
    """The platform fee on a BYOK request: `fee` of its pool price, rounded down to a whole
    nano-dollar. Exact: integers and the fee as a fraction (2.5 % is 1/40), never floats."""
    return pool_nanos * fee.numerator // fee.denominator


def charged_nanos(state: RequestState, pool_nanos: int) -> int:
    """What the account pays for a request whose pool price is `pool_nanos`."""
    if state.key_source != "byok":
        return pool_nanos
    return byok_cost_nanos(pool_nanos, state.platform_fee)


def cached_prompt_tokens(ctx: RequestContext, count: Counted) -> int:
    """Cached prompt tokens as the provider reported them; none in an estimate (no usage arrived)."""
    return 0 if count.estimated else (ctx.translator or OPENAI_CHAT).usage(ctx.state.usage).cached_input_tokens


def request_cost_nanos(ctx: RequestContext) -> int:
    """What a request that went upstream is charged, as its ledger row says: priced from what it counted
    (plugins.usage_estimate), the platform fee only for BYOK. Spend limits settle to it (plugins.spend)."""
    state = ctx.state
    count = counted(state)
    # Plugins pricing other things than tokens (images, videos) leave their pool price here.
    pool_nanos = state.cost_nanos if state.cost_nanos is not None else state.model.price.cost_nanos(
        count.prompt_tokens, count.completion_tokens, cached_prompt_tokens(ctx, count))
    return charged_nanos(state, pool_nanos)


def _byok_rejected(provider: str) -> Reject:
    # The account's key to fix: never retried with the pool key, whose use the account did not ask for.
    return Reject(401, f"{provider} rejected the API key you stored for it (bring your own key). Replace it with "
                       f"POST /v1/provider-keys, or delete it (DELETE /v1/provider-keys/{provider}) to use the "
                       "gateway's key.", "byok_key_rejected", {"x-key-source": "byok"}, reason="byok_key_rejected")


def _provider_error(status: int, body: bytes, headers: dict, byok_provider: str | None = None) -> Reject:
    """A provider's error as ours: 5xx becomes 502, 4xx keeps its status and the provider's message;
    a 401 to the account's own key (BYOK) says so."""
    if status == 401 and byok_provider:
        return _byok_rejected(byok_provider)
    try:
        error = json.loads(body).get("error") or {}
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        error = {}
    message = error.get("message") if isinstance(error, dict) else None
    message = message or body[:300].decode(errors="replace").strip() or f"HTTP {status}"
    keep = {"retry-after": headers["retry-after"]} if "retry-after" in headers else {}
    if status >= 500:
        return Reject(502, f"The provider failed: {message}", "upstream_error", keep, reason="upstream_5xx")
    return Reject(status, message, (error.get("code") if isinstance(error, dict) else None) or "upstream_error",
                  keep, reason="upstream_4xx", type_=error.get("type") if isinstance(error, dict) else None)


def _drop_provider_headers(ctx: RequestContext, headers: dict) -> None:
    ours = ctx.mutation.set_headers
    ctx.mutation.remove_headers += [name for name in headers
                                    if name.startswith(PROVIDER_HEADER_PREFIXES) and name not in ours]


def if_cut(state: RequestState, count: Counted, cached: int) -> tuple[int, int]:
    """(completion tokens, cost) of what went through if Envoy's access log shows that the last reply did
    not reach the client whole (plugins.deliveries): the prompt, and the completion relayed before that
    reply — a JSON answer's is none; a stream's is what it counted when its last reply carried no text
    (only the usage chunk, [DONE]), else the text relayed before it at four bytes a token, as for a
    stream cut short. Images and videos (priced per unit, no prompt price): nothing."""
    if state.cost_nanos is not None:
        return 0, 0
    completion = 0 if state.sse is None else (
        count.completion_tokens if state.relayed_before_last is None else state.relayed_before_last)
    return completion, charged_nanos(state, state.model.price.cost_nanos(count.prompt_tokens, completion, cached))


class MeteringPlugin(Plugin):
    name = "metering"
    priority = 100

    def __init__(self, sink):
        self.sink = sink

    async def on_response_headers(self, ctx: RequestContext, status: int, headers: dict, via_upstream: bool) -> None:
        state = ctx.state
        state.update(status=status, via_upstream=via_upstream, response_started=time.monotonic(),
                     upstream_headers=headers)
        metered = via_upstream and state.model is not None
        if metered:
            self._served_by(ctx, headers)  # may turn the request into a BYOK one
        ctx.mutation.set_headers.update({"x-tier": ctx.identity.tier, "x-key-source": state.key_source})
        if not metered:
            return
        _drop_provider_headers(ctx, headers)
        UPSTREAM_LATENCY.labels(state.model.provider).observe(state.response_started - ctx.started)
        streamed = status < 400 and "text/event-stream" in headers.get("content-type", "")
        ctx.mutation.stream_response = streamed
        if streamed:
            # Chunks change length as they pass (cost, usage, model): a provider's Content-Length no longer holds.
            ctx.mutation.remove_headers.append("content-length")
            price, translator = state.model.price, ctx.translator or OPENAI_CHAT
            state.sse = translator.stream(state.model.name, ctx.request_id, state.client_wants_usage, lambda usage: (
                format_usd(charged_nanos(state, price.cost_nanos(*_tokens(translator, usage))))))

    def _served_by(self, ctx: RequestContext, headers: dict) -> None:
        """Bill by the model that answered, and by whose key: a router's attempt names both in headers.

        Only a router's attempt (plugins.fallback.Attempt, which always sets both) is believed: on a
        direct route the same names could only come from the provider, which must not pick the bill."""
        if ctx.state.router:
            served = ctx.runtime.models.get(headers.get(SERVED_BY_HEADER, ""))
            if served is not None:
                ctx.state.model = served
            if headers.get(KEY_SOURCE_HEADER) == "byok":
                mark_byok(ctx, ctx.state.model.provider)
        ctx.mutation.remove_headers += [SERVED_BY_HEADER, KEY_SOURCE_HEADER]
        ctx.mutation.set_headers[MODEL_HEADER] = ctx.state.model.name

    async def on_response_body(self, ctx: RequestContext, chunk: bytes, end: bool) -> None:
        state = ctx.state
        if not state.via_upstream or state.model is None:
            return
        if state.status >= 400:
            raise _provider_error(state.status, chunk, state.upstream_headers, state.byok_provider)
        stream = state.sse
        if stream is None:
            self._price_json(ctx, chunk)
            return
        relayed = stream.relayed_bytes
        out = stream.feed(chunk)
        if end:
            out += stream.finish()
            if stream.relayed_bytes > relayed:  # the last reply carries text: what went before it, if it is cut
                state.relayed_before_last = tokens_of_bytes(relayed)
            if not stream.done:  # the provider hung up mid-stream
                state.status = 502
                out += stream.error_event("The provider ended the stream before it was complete",
                                          "upstream_disconnected")
        state.usage = stream.usage or {}
        ctx.mutation.body = out

    def _price_json(self, ctx: RequestContext, body: bytes) -> None:
        try:
            usage = json.loads(body).get("usage") or {}
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            usage = {}
        state = ctx.state
        state.usage = usage if isinstance(usage, dict) else {}
        translator = ctx.translator
        if translator is not None:  # the client's body for the provider's (images and video answer their own)
            answer = translator.response(body, state.model.name)
            if answer != body:
                ctx.mutation.body = answer
                ctx.mutation.set_headers["content-length"] = str(len(answer))
        # Plugins pricing other things than tokens (images, videos) leave their pool price in cost_nanos.
        pool_nanos = state.cost_nanos if state.cost_nanos is not None else state.model.price.cost_nanos(
            *_tokens(translator or OPENAI_CHAT, state.usage))
        ctx.mutation.set_headers["x-cost-usd"] = format_usd(charged_nanos(state, pool_nanos))

    async def on_complete(self, ctx: RequestContext) -> None:
        state = ctx.state
        if not state.via_upstream or state.model is None:
            return
        stream, count = state.sse, counted(state)  # counted before the status changes: it reads it
        if (not stream.done if stream is not None else state.usage is None) and state.status < 400:
            # Envoy closed the stream before the response's end: the client left, or the provider reset the
            # connection (Envoy's cluster stats count those); a JSON answer's body never reached us whole.
            # Either way the client has no complete answer.
            state.status = INCOMPLETE
        model, identity = state.model, ctx.identity
        prompt, completion = count.prompt_tokens, count.completion_tokens
        cached, cost = cached_prompt_tokens(ctx, count), request_cost_nanos(ctx)
        cut_completion, cut_cost = if_cut(state, count, cached)
        event = UsageEvent(request_id=ctx.request_id, account_id=identity.account_id, key_id=identity.key_id,
                           key_source=state.key_source, model=model.name, provider=model.provider,
                           prompt_tokens=prompt, completion_tokens=completion, cost_nanos=cost,
                           status=state.final_status if state.final_status is not None else state.status,
                           latency_ms=int((time.monotonic() - ctx.started) * 1000),
                           streamed=stream is not None, created_at=time.time(), unit_tokens=count.unit_tokens,
                           endpoint=ctx.endpoint.where.paths[0] if ctx.endpoint else "",
                           body_bytes=state.body_bytes, cut_completion_tokens=cut_completion, cut_cost_nanos=cut_cost)
        labels = (model.name, model.provider, identity.tier, ctx.endpoint.name if ctx.endpoint else "")
        REQUESTS.labels(*labels, str(event.status)).inc()
        TOKENS.labels(*labels, "prompt").inc(prompt)
        TOKENS.labels(*labels, "completion").inc(completion)
        TOKENS.labels(*labels, "cached_prompt").inc(cached)
        COST.labels(*labels).inc(cost / 1e9)
        if state.meter:  # False: a plugin bills this work elsewhere (a video is billed once)
            await self.sink.publish(event)
