"""clew/free and clew/ocr: one request, several candidate models, fallback inside Envoy.

Cool-downs and simulator faults are gateway-wide state, so these tests run on a gateway of their
own, whose config also makes one candidate unreachable. Cool-downs outlive a test, so the tests
that start them come last, in file order.
"""
import base64
from decimal import Decimal

import pytest
import yaml

from tests.e2e.chat import chat, data_of, expected_cost, sdk, simulator_ledger, stream_events
from tests.support.api import call, new_account
from tests.support.ports import free_port
from tests.support.stack import ROOT, start_gateway

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/receipt.jpg"}}
THAI = "ใบเสร็จรับเงิน เลขที่ 0042 Receipt No. 0042 ยอดรวม 1,250 บาท Total 1,250 THB"


def _config(path) -> None:
    """The shipped config plus a router whose first candidate's provider cannot be reached."""
    data = yaml.safe_load((ROOT / "gateway.yaml").read_text())
    data["providers"]["unreachable"] = {**data["providers"]["mistral"], "api_key_env": "UNREACHABLE_API_KEY",
                                        "base_url": f"http://127.0.0.1:{free_port()}"}
    data["models"]["unreachable/small"] = {**data["models"]["mistral/small"], "provider": "unreachable"}
    data["routers"]["clew/dead-first"] = {"candidates": ["unreachable/small", "groq/llama-3.1-8b"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


@pytest.fixture(scope="module")
def routed(backend, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"routers-{backend.name}")
    _config(home / "routers.yaml")
    stack = start_gateway(backend, home, {"CLEW_CONFIG": str(home / "routers.yaml"), "UNREACHABLE_API_KEY": "sk-x"})
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
async def clean_simulator(client, routed):
    await call(client, "DELETE", f"{routed.simulator_url}/_sim/faults")
    yield
    await call(client, "DELETE", f"{routed.simulator_url}/_sim/faults")


async def _fault(client, gateway, provider: str, status: int, retry_after: int = 1, times: int = 1) -> None:
    rule = {"provider": provider, "status": status, "retry_after": retry_after, "times": times}
    assert (await call(client, "POST", f"{gateway.simulator_url}/_sim/faults", json=rule))[0] == 200


async def _served(client, gateway, provider: str) -> int:
    return len(await simulator_ledger(client, gateway, provider=provider))


async def test_free_router_serves_from_its_first_candidate(client, routed):
    account = await new_account(client, routed.url)
    raw = await sdk(routed.url, account.token).chat.completions.with_raw_response.create(
        model="clew/free", messages=[{"role": "user", "content": "Hello!"}])
    assert raw.headers["x-clew-model"] == "groq/llama-3.1-8b" and raw.headers["x-cost-usd"] == "0"
    assert raw.parse().model == "groq/llama-3.1-8b"  # the id of the model that served, as clients name it


async def test_5xx_falls_back_without_a_cool_down(client, routed):
    account = await new_account(client, routed.url)
    await _fault(client, routed, "nvidia", 503)
    await _fault(client, routed, "groq", 500)
    status, _, headers = await chat(client, routed.url, account.bearer, model="clew/free")
    assert status == 200 and headers["x-clew-model"] == "mistral/small"
    status, _, headers = await chat(client, routed.url, account.bearer, model="clew/free")
    assert headers["x-clew-model"] == "groq/llama-3.1-8b"  # a 5xx starts no cool-down


async def test_unreachable_candidate_falls_back(client, routed):
    account = await new_account(client, routed.url)
    status, _, headers = await chat(client, routed.url, account.bearer, model="clew/dead-first")
    assert status == 200 and headers["x-clew-model"] == "groq/llama-3.1-8b"


async def test_stream_falls_back_on_5xx(client, routed):
    account = await new_account(client, routed.url)
    await _fault(client, routed, "groq", 502)
    status, events, headers = await stream_events(client, routed.url, account.bearer, model="clew/free")
    assert status == 200 and headers["x-clew-model"] == "nvidia/llama-3.1-8b" and events[-1] == b"data: [DONE]"


async def test_stream_falls_back_when_a_candidate_cannot_be_reached(client, routed):
    account = await new_account(client, routed.url)
    status, events, headers = await stream_events(client, routed.url, account.bearer, model="clew/dead-first")
    assert status == 200 and headers["x-clew-model"] == "groq/llama-3.1-8b" and events[-1] == b"data: [DONE]"


async def test_ocr_reads_a_url_image_with_thai_text_intact(client, routed):
    account = await new_account(client, routed.url)
    completion = await sdk(routed.url, account.token).chat.completions.create(
        model="clew/ocr", messages=[{"role": "user", "content": [IMAGE]}])
    assert completion.choices[0].message.content == THAI


async def test_ocr_reads_a_base64_image_and_sends_the_instruction(client, routed):
    account = await new_account(client, routed.url)
    data_url = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake image bytes").decode()
    status, body, _ = await chat(client, routed.url, account.bearer, model="clew/ocr",
                                 messages=[{"role": "user", "content": [{"type": "image_url",
                                                                          "image_url": {"url": data_url}}]}])
    served = next(e for e in await simulator_ledger(client, routed) if e["id"] == body["id"])
    assert status == 200 and body["choices"][0]["message"]["content"] == THAI
    assert served["model"] == "deepseek-ocr" and served["prompt_tokens"] > 85  # the image plus the instruction


async def test_ocr_without_an_image_is_400(client, routed):
    account = await new_account(client, routed.url)
    status, body, _ = await chat(client, routed.url, account.bearer, model="clew/ocr",
                                 messages=[{"role": "user", "content": "no image here"}])
    assert status == 400 and body["error"]["code"] == "image_required"


async def test_ocr_image_over_the_limit_is_413(client, routed):
    account = await new_account(client, routed.url)
    huge = "data:image/png;base64," + base64.b64encode(b"\0" * (5 * 1024 * 1024 + 10)).decode()
    status, body, _ = await chat(client, routed.url, account.bearer, model="clew/ocr",
                                 messages=[{"role": "user",
                                            "content": [{"type": "image_url", "image_url": {"url": huge}}]}])
    assert status == 413 and body["error"]["code"] == "image_too_large"


async def test_429_falls_back_to_the_next_candidate_in_the_same_request(client, routed):
    account = await new_account(client, routed.url)
    await _fault(client, routed, "groq", 429, retry_after=2)
    status, body, headers = await chat(client, routed.url, account.bearer, model="clew/free")
    assert status == 200 and headers["x-clew-model"] == "nvidia/llama-3.1-8b"
    assert body["model"] == "nvidia/llama-3.1-8b"


async def test_provider_that_answered_429_is_skipped_until_its_retry_after(client, routed):
    account = await new_account(client, routed.url)
    await _fault(client, routed, "groq", 429, retry_after=3)
    await chat(client, routed.url, account.bearer, model="clew/free")
    groq_before = await _served(client, routed, "groq")
    status, _, headers = await chat(client, routed.url, account.bearer, model="clew/free")
    assert status == 200 and headers["x-clew-model"] == "nvidia/llama-3.1-8b"
    assert await _served(client, routed, "groq") == groq_before  # not even tried


async def test_stream_falls_back_before_the_first_byte(client, routed):
    account = await new_account(client, routed.url)
    await _fault(client, routed, "deepseek", 429, retry_after=2)
    status, events, headers = await stream_events(client, routed.url, account.bearer, model="clew/ocr",
                                                  messages=[{"role": "user", "content": [IMAGE]}],
                                                  stream_options={"include_usage": True})
    assert status == 200 and headers["x-clew-model"] == "nvidia/vl"
    text = "".join(d["choices"][0]["delta"].get("content") or "" for d in data_of(events) if d.get("choices"))
    assert text == THAI and events[-1] == b"data: [DONE]"


async def test_billed_by_the_model_that_served(client, routed, db):
    account = await new_account(client, routed.url)
    await _fault(client, routed, "deepseek", 429, retry_after=2)
    status, body, headers = await chat(client, routed.url, account.bearer, model="clew/ocr",
                                       messages=[{"role": "user", "content": [IMAGE]}])
    usage = body["usage"]
    assert status == 200 and headers["x-clew-model"] == "nvidia/vl"
    assert Decimal(headers["x-cost-usd"]) == expected_cost(
        routed, "nvidia/vl", usage["prompt_tokens"], usage["completion_tokens"])


async def test_every_candidate_limited_is_429_with_a_retry_after_no_longer_than_the_smallest(client, routed):
    account = await new_account(client, routed.url)
    for provider, seconds in (("groq", 29), ("nvidia", 14), ("mistral", 22)):
        await _fault(client, routed, provider, 429, retry_after=seconds)
    status, body, headers = await chat(client, routed.url, account.bearer, model="clew/free")
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(headers["retry-after"]) <= 14  # never the longer waits of groq and mistral
