"""Helpers for the delivery reconciliation tests: a client that hangs up mid-answer, and waiting for
sidecar 0 to have read Envoy's access log."""
import asyncio
import json
import re
import time

import sqlalchemy as sa

from schemas.tables import usage_events
from tests.e2e.chat import HELLO, simulator_ledger


class HangingUpClient:
    """One chat request over a raw connection, which the test closes (RST) whenever it likes."""

    def __init__(self, gateway, headers: dict, **body):
        self.gateway, self.headers, self.body = gateway, headers, {"messages": HELLO, **body}
        self.received = b""
        self._reader = self._writer = None

    async def send(self) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", int(self.gateway.env["CLEW_HTTP_PORT"]))
        payload = json.dumps(self.body).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
        self._writer.write(f"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(payload)}\r\n{head}\r\n".encode() + payload)
        await self._writer.drain()

    async def hang_up(self) -> bytes:
        """Close the connection at once, after taking what had arrived; what the client got."""
        while True:
            try:
                chunk = await asyncio.wait_for(self._reader.read(65536), 0.05)
            except TimeoutError:
                break
            if not chunk:
                break
            self.received += chunk
        self._writer.transport.abort()
        return self.received


async def provider_answered(session, gateway, completion_tokens: int, since: float, timeout: float = 30) -> dict:
    """The simulator's entry for the call asked for `completion_tokens` after `since`, once it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = [e for e in await simulator_ledger(session, gateway)
                   if e["completion_tokens"] == completion_tokens and e["received_at"] >= since]
        if entries:
            return entries[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"the simulator never answered the call for {completion_tokens} tokens")


async def row_with_status(db, account_id: str, status: int, timeout: float = 45) -> sa.Row:
    """The account's streamed or JSON row once it has `status` (the correction lands asynchronously)."""
    deadline = time.monotonic() + timeout
    query = sa.select(usage_events).where(usage_events.c.account_id == account_id, usage_events.c.status == status)
    while True:
        async with db.connect() as conn:
            rows = (await conn.execute(query)).all()
        if rows or time.monotonic() > deadline:
            assert len(rows) == 1, rows
            return rows[0]
        await asyncio.sleep(0.2)


async def metric(session, url: str, name: str) -> float:
    async with session.get(url) as response:
        text = await response.text()
    found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def log_read_through(session, gateway, timeout: float = 30) -> None:
    """Wait until sidecar 0's reconciler has read every line Envoy's access log holds now."""
    lines = (gateway.home / "log" / "envoy-access.log").read_bytes().count(b"\n")
    deadline = time.monotonic() + timeout
    url = gateway.metrics_url("sidecar")
    while await metric(session, url, "clew_delivery_log_lines_total") < lines:
        assert time.monotonic() < deadline, "the delivery reconciler did not read the access log"
        await asyncio.sleep(0.2)
