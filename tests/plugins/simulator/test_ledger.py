"""The ledger: what the simulator served, as a provider would bill it."""
import asyncio
import hashlib
import json
import time

from tests.plugins.simulator.conftest import KEY, chat_body, post_chat


async def _ledger(sim, query="") -> list:
    resp = await sim.get(f"/_sim/ledger{query}")
    assert resp.status == 200
    return (await resp.json())["data"]


async def test_ledger_records_reported_tokens_and_key_hash_not_key(sim):
    before = time.time()
    body = await (await post_chat(sim, headers={"x-sim-completion-tokens": "9"})).json()
    [entry] = await _ledger(sim)
    assert entry["id"] == body["id"] and entry["status"] == 200 and entry["stream"] is False
    assert entry["provider"] == "openai" and entry["path"] == "/openai/v1/chat/completions"
    assert entry["model"] == "gpt-4o-mini" and entry["disconnected"] is False
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (body["usage"]["prompt_tokens"], 9)
    assert entry["key_sha256"] == hashlib.sha256(KEY.encode()).hexdigest()[:12]
    assert before <= entry["received_at"] <= time.time()
    assert KEY not in (await (await sim.get("/_sim/ledger")).text())


async def test_ledger_records_faults_with_zero_tokens_but_not_rejected_requests(sim):
    await post_chat(sim, headers={"x-sim-status": "503"})
    await post_chat(sim, key=None)
    await post_chat(sim, "{bad")
    [entry] = await _ledger(sim)
    assert entry["status"] == 503 and entry["id"] is None
    assert entry["prompt_tokens"] == entry["completion_tokens"] == 0


async def test_ledger_records_a_rejected_byok_key_by_its_hash(sim):
    resp = await post_chat(sim, key="invalid-byok-key-1234")
    [entry] = await _ledger(sim)
    assert resp.status == 401 and entry["status"] == 401 and entry["id"] is None
    assert entry["key_sha256"] == hashlib.sha256(b"invalid-byok-key-1234").hexdigest()[:12]
    assert entry["prompt_tokens"] == entry["completion_tokens"] == 0


async def test_ledger_marks_cut_streams_with_tokens_delivered(sim):
    headers = {"x-sim-completion-tokens": "10", "x-sim-chunks": "5", "x-sim-disconnect-after": "2"}
    await (await post_chat(sim, chat_body(stream=True), headers=headers)).read()
    [entry] = await _ledger(sim)
    assert entry["stream"] is True and entry["disconnected"] is True and entry["completion_tokens"] == 4


async def test_ledger_filters_by_provider_and_model_and_clears(sim):
    await post_chat(sim, provider="groq", path="/openai/v1/chat/completions")
    await post_chat(sim, chat_body(model="deepseek-chat"), provider="deepseek", path="/chat/completions")
    await post_chat(sim, chat_body(model="deepseek-chat"), provider="openai")
    assert [e["provider"] for e in await _ledger(sim)] == ["groq", "deepseek", "openai"]
    assert [e["provider"] for e in await _ledger(sim, "?provider=deepseek")] == ["deepseek"]
    assert [e["provider"] for e in await _ledger(sim, "?model=deepseek-chat")] == ["deepseek", "openai"]
    assert (await sim.delete("/_sim/ledger")).status == 200
    assert await _ledger(sim) == []


async def test_health_is_200(sim):
    resp = await sim.get("/_sim/health")
    assert resp.status == 200 and (await resp.json())["status"] == "ok"


async def test_ledger_marks_stream_the_client_abandoned(sim):
    body = json.dumps(chat_body(stream=True)).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.server.port)
    writer.write(b"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer k\r\n"
                 b"x-sim-chunks: 6\r\nx-sim-chunk-interval-ms: 30\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    await reader.readuntil(b"\n\n")  # hang up once the response has started
    writer.transport.abort()
    for _ in range(50):
        [entry] = await _ledger(sim)
        if entry["disconnected"]:
            break
        await asyncio.sleep(0.02)
    assert entry["disconnected"] is True and entry["completion_tokens"] < 64
