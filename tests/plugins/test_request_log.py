"""The request-log plugin: one line per AI request with its request id, and why a provider call failed."""
import logging

import pytest
from prometheus_client import REGISTRY

from plugins.context import RequestContext, RequestState
from plugins.request_log import RequestLogPlugin, upstream_error
from plugins.runtime_config import ModelRoute
from schemas.identity import Identity
from schemas.pricing import TokenPrice


@pytest.mark.parametrize("state, reason", [
    ({"status": 200, "via_upstream": True}, None),
    ({"status": 429, "via_upstream": True}, "http_429"),
    ({"status": 400, "via_upstream": True}, "http_4xx"),
    ({"status": 503, "via_upstream": True}, "http_5xx"),
    ({"status": 502, "via_upstream": True, "sse": object()}, "disconnected"),
    ({"status": 499, "via_upstream": True, "sse": object()}, None),  # cut mid-stream: maybe the client left
    ({"status": 504, "via_upstream": False}, "timeout"),
    ({"status": 502, "via_upstream": False}, "unreachable"),
    ({"status": 404, "via_upstream": False}, "no_route"),
    ({}, None),  # never reached a provider (rejected, or the client left first)
])
def test_upstream_error_reason(state, reason):
    assert upstream_error(RequestState(**state)) == reason


def _context(**state) -> RequestContext:
    ctx = RequestContext(method="POST", path="/v1/chat/completions?x=secret", headers={}, request_id="req-123",
                         identity=Identity("acct_1", "pro", "api_key", "key_1"))
    ctx.state.update(**state)
    return ctx


def _model() -> ModelRoute:
    return ModelRoute("m-1", "prov-1", "up-1", 1000, TokenPrice.per_million("1", "2"))


async def test_one_line_per_request_with_its_request_id_and_no_query(caplog):
    ctx = _context(model=_model(), status=200, via_upstream=True, usage={"prompt_tokens": 3, "completion_tokens": 4})
    with caplog.at_level(logging.INFO, logger="clew.sidecar.requests"):
        await RequestLogPlugin().on_complete(ctx)
    [record] = caplog.records
    assert record.request_id == "req-123" and record.levelno == logging.INFO
    assert record.fields == {"event": "ai_request", "method": "POST", "path": "/v1/chat/completions", "status": 200,
                             "duration_ms": record.fields["duration_ms"], "account_id": "acct_1", "key_id": "key_1",
                             "tier": "pro", "prompt_tokens": 3, "completion_tokens": 4, "model": "m-1",
                             "provider": "prov-1"}


async def test_failed_provider_call_is_counted_and_logged_as_a_warning(caplog):
    labels = {"provider": "prov-1", "reason": "timeout"}
    before = REGISTRY.get_sample_value("clew_upstream_errors_total", labels) or 0
    with caplog.at_level(logging.INFO, logger="clew.sidecar.requests"):
        await RequestLogPlugin().on_complete(_context(model=_model(), status=504, via_upstream=False))
    assert REGISTRY.get_sample_value("clew_upstream_errors_total", labels) == before + 1
    assert caplog.records[0].levelno == logging.WARNING and caplog.records[0].fields["upstream_error"] == "timeout"
    assert REGISTRY.get_sample_value("clew_request_duration_seconds_count",
                                     {"model": "m-1", "provider": "prov-1", "tier": "pro"}) >= 1


async def test_rejected_request_is_logged_with_the_reason(caplog):
    with caplog.at_level(logging.INFO, logger="clew.sidecar.requests"):
        await RequestLogPlugin().on_complete(_context(final_status=429, rejected="rate_limit_exceeded"))
    assert caplog.records[0].fields["rejected"] == "rate_limit_exceeded"
    assert caplog.records[0].fields["status"] == 429
