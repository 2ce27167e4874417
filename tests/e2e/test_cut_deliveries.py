"""Answers are billed for what reached the client, as Envoy's access log tells it (plugins.deliveries).

The sidecar queues a request's usage just before its last reply; a client that hangs up while that
last write is under way got less than its ledger row says. Sidecar 0 reads Envoy's access log and
corrects such rows: status 499, the prompt and the completion that went through, the quota settled to
the same numbers. An answer that went through whole keeps its 200 and its exact amount.

The last write is held open by a fault: here the embedded database is locked (the ledger write waits,
then spools); tests/e2e/test_cut_deliveries_redis.py freezes Redis instead.
"""
import asyncio
import json
import re
import sqlite3
import time
import uuid

import pytest

from plugins.usage_estimate import text_tokens
from schemas.pricing import format_usd
from tests.e2e.chat import (
    FREE_QUOTA,
    HELLO,
    data_of,
    expected_cost,
    free_account_with,
    ledger_entry,
    quota_left_is,
    stream_events,
)
from tests.e2e.deliveries import HangingUpClient, log_read_through, provider_answered, row_with_status
from tests.support.api import call, new_account
from tests.support.ledger import ledger_rows

LEFT = 5_000
CONTENT = re.compile(rb'"content":"((?:[^"\\]|\\.)*)"')  # a delta's text, JSON-escaped


def _nanos(gateway, prompt: int, completion: int) -> int:
    return int(expected_cost(gateway, "deepseek-v4", prompt, completion) * 1_000_000_000)


def _unique_tokens() -> int:
    return 100 + uuid.uuid4().int % 800  # the simulator's ledger entry of this call is found by it


async def test_answers_that_reached_the_client_whole_keep_their_200_and_exact_amount(client, gateway, db):
    account = await new_account(client, gateway.url)
    async with client.post(f"{gateway.url}/v1/chat/completions", headers=account.bearer,
                           json={"model": "deepseek-v4", "messages": HELLO}) as response:
        status, raw = response.status, await response.read()
    body = json.loads(raw)
    stream_status, events, _ = await stream_events(client, gateway.url, account.bearer, model="deepseek-v4")
    assert (status, stream_status) == (200, 200)
    await log_read_through(client, gateway)
    rows = {row.streamed: row for row in await ledger_rows(db, account.id, expect=2)}
    for streamed, answer_id in ((False, body["id"]), (True, data_of(events)[0]["id"])):
        provider, row = await ledger_entry(client, gateway, answer_id), rows[streamed]
        assert (row.status, row.prompt_tokens, row.completion_tokens) == (
            200, provider["prompt_tokens"], provider["completion_tokens"])
        assert row.cost_nanos == _nanos(gateway, row.prompt_tokens, row.completion_tokens)
    # What the sidecar handed Envoy is what the client read: the measure Envoy's bytes_sent is held to.
    assert rows[False].body_bytes == len(raw)
    assert rows[True].body_bytes == sum(len(event) + 2 for event in events)


class LockedLedger:
    """The embedded database held by a writer of ours: the sidecar's ledger write waits (then spools)."""

    def __init__(self, gateway):
        self.path = gateway.home / "clew.db"

    def __enter__(self):
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        self.connection.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *_):
        self.connection.execute("ROLLBACK")
        self.connection.close()


async def _hang_up_during_the_last_write(client, gateway, headers: dict, tokens: int, **body) -> tuple[dict, bytes]:
    """Send a chat whose usage event cannot be written at once, and hang up once the provider answered:
    while the sidecar still holds the last reply. The simulator's entry, and what the client got."""
    since = time.time()
    with LockedLedger(gateway):
        caller = HangingUpClient(gateway, {**headers, "x-sim-completion-tokens": str(tokens)},
                                 model="deepseek-v4", **body)
        await caller.send()
        provider = await provider_answered(client, gateway, tokens, since)
        await asyncio.sleep(1.0)  # the answer is with the sidecar, whose ledger write waits up to 2 s
        received = await caller.hang_up()
        await asyncio.sleep(0.5)
    return provider, received


@pytest.mark.embedded_only
async def test_a_json_answer_whose_client_left_during_its_last_write_is_billed_for_its_prompt(client, gateway, db):
    account = await free_account_with(client, gateway, db, LEFT)
    tokens = _unique_tokens()
    provider, received = await _hang_up_during_the_last_write(client, gateway, account.bearer, tokens)
    assert received == b""  # not even the headers: Envoy holds a JSON answer until the sidecar lets it go
    row = await row_with_status(db, account.id, 499)
    assert row.body_bytes > 0  # the sidecar had the answer: it was cut during its last write
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (provider["prompt_tokens"], 0, 6)
    assert row.cost_nanos == _nanos(gateway, 6, 0)
    _, usage, _ = await call(client, "GET", f"{gateway.url}/v1/usage", headers=account.bearer)
    assert usage["quota"]["used_tokens"] == FREE_QUOTA - LEFT + 6
    assert usage["cost_usd"] == format_usd(_nanos(gateway, 6, 0))
    await quota_left_is(client, gateway, account, LEFT - 6)


@pytest.mark.embedded_only
async def test_a_stream_whose_client_left_during_its_last_write_is_billed_for_what_went_before(client, gateway, db):
    account = await free_account_with(client, gateway, db, LEFT)
    tokens = _unique_tokens()
    # Sent whole with a Content-Length, the stream reaches the sidecar in one piece: its last reply is all of it.
    provider, received = await _hang_up_during_the_last_write(
        client, gateway, {**account.bearer, "x-sim-stream-content-length": "1"}, tokens, stream=True)
    row = await row_with_status(db, account.id, 499)
    assert row.streamed and row.prompt_tokens == provider["prompt_tokens"] == 6
    got = "".join(json.loads(b'"' + text + b'"') for text in CONTENT.findall(received))  # the text that arrived
    assert text_tokens(got) <= row.completion_tokens < tokens  # what went before the last reply, not the answer
    assert row.cost_nanos == _nanos(gateway, 6, row.completion_tokens)
    await quota_left_is(client, gateway, account, LEFT - row.total_tokens)
