"""A request keeps the gateway.yaml it started with: a reload while it runs changes neither its price
nor its models (the sidecar pins the snapshot on the request's context when Envoy opens the stream)."""
import json
from datetime import UTC, datetime

import yaml
from envoy.config.core.v3 import base_pb2
from envoy.service.ext_proc.v3 import external_processor_pb2 as ext_proc

from plugins import chat_request
from plugins.endpoints import Dependencies, Endpoints
from plugins.envoy_grpc import ExternalProcessorService
from plugins.metering import MeteringPlugin
from plugins.router import RouterPlugin
from plugins.runtime_config import RuntimeConfig
from schemas.identity import Identity
from tests.support.stack import ROOT

BODY = json.dumps({"model": "deepseek-v4", "messages": [{"role": "user", "content": "hi"}]}).encode()
USAGE = {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000}
ANSWER = json.dumps({"id": "c1", "model": "deepseek-v4", "choices": [], "usage": USAGE}).encode()


class _Sink:
    def __init__(self):
        self.events = []

    async def publish(self, event) -> None:
        self.events.append(event)


def _service(runtime: RuntimeConfig, sink) -> ExternalProcessorService:
    deps = Dependencies(identities=None, jwt_secret=b"s", windows=None, quotas=None, cooldowns=None,
                        provider_keys=None, sink=sink, video_jobs=None, public_url="http://x",
                        clock=lambda: datetime.now(UTC))
    return ExternalProcessorService(Endpoints(deps), runtime, attempts=None, route_token="t")


def _headers(path: str) -> ext_proc.HttpHeaders:
    pairs = {":method": "POST", ":path": path, "x-request-id": "req-1"}
    return ext_proc.HttpHeaders(headers=base_pb2.HeaderMap(headers=[
        base_pb2.HeaderValue(key=k, raw_value=v.encode()) for k, v in pairs.items()]))


def _edit(path, change) -> None:
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config))


def _reprice(config: dict) -> None:
    config["models"]["deepseek-v4"]["price_per_1m"] = {"input": "50.00", "output": "150.00"}


async def _request_across_a_reload(tmp_path, change):
    config = tmp_path / "gateway.yaml"
    config.write_text((ROOT / "gateway.yaml").read_text())
    runtime, sink = RuntimeConfig(config, env={}), _Sink()
    ctx = _service(runtime, sink)._context(_headers("/v1/chat/completions"))
    ctx.identity = Identity("acct_1", "pro", "api_key", "key_1")
    await RouterPlugin(chat_request.parse).on_request_body(ctx, BODY)
    _edit(config, change)
    runtime.reload_if_changed()
    metering = MeteringPlugin(sink)
    ctx.begin_phase()
    await metering.on_response_headers(ctx, 200, {"content-type": "application/json"}, via_upstream=True)
    await metering.on_response_body(ctx, ANSWER, True)
    await metering.on_complete(ctx)
    return runtime, ctx, sink.events


async def test_a_reload_between_request_and_response_does_not_change_the_price(tmp_path):
    runtime, ctx, [event] = await _request_across_a_reload(tmp_path, _reprice)
    assert runtime.current.models["deepseek-v4"].price != ctx.runtime.models["deepseek-v4"].price  # it did reload
    assert ctx.mutation.set_headers["x-cost-usd"] == "2"  # 1M in at $0.50 + 1M out at $1.50, the old prices
    assert event.cost_nanos == 2_000_000_000


async def test_a_reload_that_removes_the_model_mid_request_still_bills_it(tmp_path):
    def remove(config: dict) -> None:
        del config["models"]["deepseek-v4"]

    runtime, ctx, [event] = await _request_across_a_reload(tmp_path, remove)
    assert "deepseek-v4" not in runtime.current.models
    assert (event.model, event.cost_nanos) == ("deepseek-v4", 2_000_000_000)
