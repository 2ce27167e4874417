"""Envoy ends each AI request's ext_proc stream with a half-close that the sidecar answers, never a reset.

A reset cancels the sidecar's gRPC call, and grpcio's aio server then never frees the batch it had in
flight for it (envoy_config.runtime): the sidecars grew by about 300 bytes a request, without bound.
Envoy counts the streams it resets towards the sidecars; for requests that complete it must not count any.
"""
from tests.e2e.chat import chat, stream_events
from tests.support.api import call, new_account

RESET = "cluster.sidecar.upstream_rq_tx_reset"
STREAMS = "cluster.sidecar.upstream_rq_total"


async def _sidecar_streams(client, gateway) -> dict[str, int]:
    """Envoy's counters of the gRPC streams it opened to the sidecars, and of those it reset."""
    admin = f"http://127.0.0.1:{gateway.env['CLEW_ADMIN_PORT']}/stats"
    async with client.get(admin, params={"filter": r"^cluster\.sidecar\.upstream_rq_(total|tx_reset)$"}) as response:
        assert response.status == 200
        lines = (await response.text()).splitlines()
    return {name: int(value) for name, value in (line.split(": ") for line in lines)}


async def test_completed_requests_leave_no_ext_proc_stream_reset(client, gateway):
    account = await new_account(client, gateway.url, "streams")
    before = await _sidecar_streams(client, gateway)
    # Every way an ext_proc stream ends: a buffered answer, a stream, a router (a second, upstream
    # ext_proc stream per attempt) and the sidecar's own refusal (an immediate response).
    assert (await chat(client, gateway.url, account.bearer, model="deepseek-v4"))[0] == 200
    assert (await stream_events(client, gateway.url, account.bearer, model="deepseek-v4"))[0] == 200
    assert (await chat(client, gateway.url, account.bearer, model="clew/free"))[0] == 200
    status, body, _ = await call(client, "POST", f"{gateway.url}/v1/chat/completions",
                                 headers={"Authorization": "Bearer sk-clew-not-a-key"}, json={"model": "deepseek-v4"})
    assert status == 401, body
    after = await _sidecar_streams(client, gateway)
    assert after[STREAMS] - before[STREAMS] >= 5  # the four requests' streams went through these counters
    assert after[RESET] == before[RESET], "Envoy reset ext_proc streams of completed requests"
