"""SIGTERM (a Kubernetes rollout, `clew up` stopping) lets each of our processes clean up and exit 0.

Without a handler Python dies at once on SIGTERM, skipping the cleanup that lands queued usage and
stops the webhook workers; its exit status would then be -15.
"""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from schemas.database import create_engine
from schemas.tables import usage_events
from tests.support.api import new_account
from tests.support.stack import EMBEDDED, start_gateway

STREAMS = 8


@pytest.fixture(scope="module")
def supervised(tmp_path_factory):
    """One gateway for both children's SIGTERM: `clew up` restarts each after it exits."""
    gateway = start_gateway(EMBEDDED, tmp_path_factory.mktemp("terminated-children"))
    yield gateway
    gateway.stop()


@pytest.mark.parametrize("module, name", [("control_plane", "control-plane"), ("plugins", "sidecar-0")])
def test_a_process_told_to_terminate_cleans_up_and_exits_0(supervised, module, name):
    exited = f"{name} exited with status 0"
    before = supervised.log().count(exited)
    os.kill(supervised.child_pid(module), signal.SIGTERM)
    deadline = time.monotonic() + 20
    while supervised.log().count(exited) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert supervised.log().count(exited) > before, supervised.log()[-2000:]


async def _stream_to_the_end(session, base: str, headers: dict, started: asyncio.Event) -> bytes:
    async with session.post(f"{base}/v1/chat/completions", headers=headers, json={
            "model": "deepseek-v4", "stream": True, "messages": [{"role": "user", "content": "Hello!"}]}) as response:
        assert response.status == 200
        body = await response.content.readany()
        started.set()
        return body + await response.read()


async def test_sigterm_to_clew_up_lets_the_streams_in_flight_finish_and_meters_them(tmp_path):
    gateway = start_gateway(EMBEDDED, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            account = await new_account(session, gateway.url)
            headers = {**account.bearer, "x-sim-chunks": "20", "x-sim-chunk-interval-ms": "100",
                       "x-sim-completion-tokens": "20"}
            started = [asyncio.Event() for _ in range(STREAMS)]
            streams = [asyncio.ensure_future(_stream_to_the_end(session, gateway.url, headers, event))
                       for event in started]
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started)), 30)
            os.kill(gateway.process.pid, signal.SIGTERM)  # clew up alone, as a service manager would
            bodies = await asyncio.gather(*streams)
        assert await asyncio.to_thread(gateway.process.wait, 60) == 0
    finally:
        gateway.stop()
    assert all(body.rstrip().endswith(b"data: [DONE]") for body in bodies)
    engine = create_engine(gateway.database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(usage_events.c.status, usage_events.c.completion_tokens)
                                       .where(usage_events.c.account_id == account.id))).all()
    finally:
        await engine.dispose()
    assert sorted(rows) == [(200, 20)] * STREAMS


def test_clew_drain_closes_envoys_listeners_and_returns_once_nothing_is_in_flight(tmp_path):
    """Kubernetes' preStop hook: after it, Envoy takes no new request and has none running."""
    gateway = start_gateway(EMBEDDED, tmp_path)
    try:
        drained = subprocess.run([str(Path(sys.executable).with_name("clew")), "drain"], env=gateway.env,
                                 capture_output=True, text=True, timeout=60)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", int(gateway.env["CLEW_HTTP_PORT"])), timeout=2).close()
    finally:
        gateway.stop()
    assert drained.returncode == 0 and "0 requests still in flight" in drained.stdout, drained.stdout + drained.stderr
