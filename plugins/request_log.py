"""The request-log plugin: one structured log line per AI request, its duration, and upstream errors.

Runs last, when the request is over, and reads only what the other plugins left in `ctx.state`
(plugins.context.RequestState).
The line carries Envoy's x-request-id, so it joins Envoy's access log and the control plane's
lines; it never carries a credential, a header or a body.
"""
import logging
import time

from plugins.chain import Plugin
from plugins.context import RequestContext, RequestState
from plugins.metering import INCOMPLETE
from plugins.metrics import REQUEST_DURATION, UPSTREAM_ERRORS

log = logging.getLogger("clew.sidecar.requests")
# Envoy's own replies for a request that was routed to a provider, by status.
LOCAL_REPLIES = {504: "timeout", 502: "unreachable", 503: "unreachable", 404: "no_route"}


def upstream_error(state: RequestState) -> str | None:
    """Why the provider call failed, or None if it did not (or never happened)."""
    status = state.status
    if status is None:
        return None
    if not state.via_upstream:
        return LOCAL_REPLIES.get(status)
    if state.sse is not None and status == 502:  # metering's verdict on a stream the provider ended short
        return "disconnected"
    if status == INCOMPLETE:  # closed mid-stream by the client or by a provider's reset: not known which
        return None
    if status == 429:
        return "http_429"
    return "http_5xx" if status >= 500 else "http_4xx" if status >= 400 else None


def _fields(ctx: RequestContext, status: int, elapsed: float) -> dict:
    fields = {"event": "ai_request", "method": ctx.method, "path": ctx.path.split("?", 1)[0], "status": status,
              "duration_ms": round(elapsed * 1000, 1)}
    if ctx.identity is not None:
        fields.update(account_id=ctx.identity.account_id, key_id=ctx.identity.key_id, tier=ctx.identity.tier)
    if ctx.state.rejected is not None:
        fields["rejected"] = ctx.state.rejected
    counted = ctx.state.counted  # what metering billed (plugins.usage_estimate), when it did
    if counted is not None:
        fields.update(prompt_tokens=counted.prompt_tokens, completion_tokens=counted.completion_tokens)
        if counted.estimated:  # a stream that ended before the provider's usage
            fields["tokens_estimated"] = True
        return fields
    usage = ctx.state.usage or {}
    for kind in ("prompt_tokens", "completion_tokens"):
        if isinstance(usage.get(kind), int):
            fields[kind] = usage[kind]
    return fields


class RequestLogPlugin(Plugin):
    name = "request_log"
    priority = 0  # after every other plugin's on_complete, metering's included

    async def on_complete(self, ctx: RequestContext) -> None:
        state = ctx.state
        elapsed = time.monotonic() - ctx.started
        model, reason = state.model, upstream_error(state)
        if model is not None:
            REQUEST_DURATION.labels(model.name, model.provider, ctx.identity.tier).observe(elapsed)
            if reason:
                UPSTREAM_ERRORS.labels(model.provider, reason).inc()
        status = state.final_status if state.final_status is not None else state.status or 0
        level = logging.WARNING if status >= 500 else logging.INFO
        if not log.isEnabledFor(level):  # CLEW_LOG_LEVEL=warning: no per-request work at all
            return
        fields = _fields(ctx, status, elapsed)
        if model is not None:
            fields.update(model=model.name, provider=model.provider)
        if reason and model is not None:
            fields["upstream_error"] = reason
        log.log(level, "%s %s %s", ctx.method, fields["path"], status,
                extra={"fields": fields, "request_id": ctx.request_id})

def log_check(ctx: RequestContext, allowed: bool, reason: str = "") -> None:
    """One line per ext_authz check (management routes); the control plane logs the same request id."""
    if not log.isEnabledFor(logging.INFO):
        return
    fields = {"event": "auth_check", "method": ctx.method, "path": ctx.path.split("?", 1)[0],
              "result": "allowed" if allowed else "denied"}
    if reason:
        fields["reason"] = reason
    if ctx.identity is not None:
        fields.update(account_id=ctx.identity.account_id, tier=ctx.identity.tier)
    log.info("auth check %s %s: %s", ctx.method, fields["path"], fields["result"],
             extra={"fields": fields, "request_id": ctx.headers.get("x-request-id", "")})
