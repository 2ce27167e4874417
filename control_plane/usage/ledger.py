"""The usage ledger: UsageEvents from the sidecar's Redis Stream, landed once each by request_id.

An entry leaves the stream (XACK + XDEL) only after its row is committed, so a database outage
delays the ledger and loses nothing. Entries a consumer read but never acknowledged (it died) are
claimed by another once idle long enough. Landing an event twice is harmless: the insert skips
request_ids the ledger already holds.
"""
import asyncio
import contextlib
import logging
import os
import socket

from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from control_plane.background import summary
from schemas.events import UsageEvent
from schemas.internal_api import USAGE_STREAM
from schemas.key_use import mark_keys_used
from schemas.tables import usage_events

log = logging.getLogger(__name__)

STREAM = USAGE_STREAM  # after the Redis prefix; plugins.usage_sink appends there
DEAD_LETTERS = "usage-events-dead"  # entries that can never land (unreadable or refused), kept for a human
GROUP = "ledger"
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

LAG = Gauge("clew_ledger_lag_events", "Usage events in the stream not yet landed in the ledger")
EVENTS = Counter("clew_ledger_events_total", "Usage events taken from the stream, by outcome", ["result"])
ERRORS = Counter("clew_ledger_errors_total", "Failed attempts to move usage events into the ledger")
for _result in ("inserted", "duplicate", "dead_letter"):
    EVENTS.labels(_result)


def _insert_statement(dialect: str):
    # One statement object per dialect, executed with a list of rows: SQLAlchemy compiles it once and
    # batches the rows itself ("insertmanyvalues"); RETURNING tells which request_ids were new.
    return (_INSERTS[dialect](usage_events).on_conflict_do_nothing(index_elements=["request_id"])
            .returning(usage_events.c.request_id))


_STATEMENTS = {dialect: _insert_statement(dialect) for dialect in _INSERTS}


async def insert_events(conn: AsyncConnection, events: list[UsageEvent]) -> int:
    """Inserts the events not yet in the ledger and sets their keys' last use; returns how many were new."""
    if not events:
        return 0
    # Keyed by request_id: a batch may hold the same event twice (published twice).
    rows = list({event.request_id: event.ledger_row() for event in events}.values())
    result = await conn.execute(_STATEMENTS[conn.dialect.name], rows)
    inserted = len(result.all())
    await mark_keys_used(conn, events)  # in the same transaction: a key's last use is what the ledger holds
    return inserted


class LedgerConsumer:
    def __init__(self, redis: Redis, prefix: str, engine: AsyncEngine, *, name: str = "",
                 batch: int = 500, block_ms: int = 1000, linger: float = 0.1, claim_idle_ms: int = 30_000,
                 claim_every: float = 30.0, backoff: tuple[float, float] = (1.0, 10.0)):
        self.redis, self.engine = redis, engine
        self.stream, self.dead_letters = f"{prefix}{STREAM}", f"{prefix}{DEAD_LETTERS}"
        # Stable across restarts on one host: a restarted consumer first lands what it had read but
        # not yet acknowledged, at once, instead of waiting for another consumer to claim it.
        self.name = name or os.environ.get("CLEW_LEDGER_CONSUMER") or socket.gethostname()
        self.batch, self.block_ms, self.linger = batch, block_ms, linger
        self.claim_idle_ms, self.claim_every = claim_idle_ms, claim_every
        self.backoff = backoff
        self._own_pending = True
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"ledger-consumer-{self.name}")

    async def stop(self) -> None:
        """Lets the current batch finish (at most one blocking read away), then ends the loop."""
        if self._task is None:
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._task, self.block_ms / 1000 + 5)  # cancels it on timeout
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay, fresh, next_claim = 0.0, True, 0.0
        while not self._stopping.is_set():
            try:
                if fresh:
                    await self._ensure_group()
                    fresh = False
                if loop.time() >= next_claim:
                    await self._claim()
                    next_claim = loop.time() + self.claim_every
                await self._step()
                delay = 0.0
            except Exception as error:  # the loop must outlive any outage: log, back off, retry
                ERRORS.inc()
                delay = min(max(delay * 2, self.backoff[0]), self.backoff[1])
                log.warning("usage ledger: %s; retrying in %.1f s", summary(error), delay)
                # Start over: the group may be gone, and what was read but not landed is ours to retry.
                fresh, self._own_pending = True, True
                await self._report_lag()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def _report_lag(self) -> None:
        # An outage is when the lag matters most; Redis itself may be what is down, though.
        with contextlib.suppress(Exception):
            LAG.set(await self.redis.xlen(self.stream))

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _claim(self) -> None:
        # Takes over entries another consumer read and left unacknowledged for claim_idle_ms (it
        # died, or is stuck): if it was only slow, both land them, and the insert skips the second.
        start = "0-0"
        while True:
            start, entries, *_ = await self.redis.xautoclaim(
                self.stream, GROUP, self.name, self.claim_idle_ms, start, count=self.batch)
            if entries:
                await self._land(entries)
            if start in (b"0-0", "0-0"):
                return

    async def _step(self) -> None:
        entries = await self._read()
        if entries:
            await self._land(entries)
        else:
            await self._report_lag()
        if 0 < len(entries) < self.batch:
            # Under light load each read would carry one event and cost a transaction of its own: wait a
            # moment so that the next read carries what arrived meanwhile (the ledger lags by this much).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.linger)

    async def _read(self) -> list:
        # "0" re-reads what this consumer holds unacknowledged (after a failure), ">" new entries.
        start, block = ("0", None) if self._own_pending else (">", self.block_ms)
        reply = await self.redis.xreadgroup(GROUP, self.name, {self.stream: start}, count=self.batch, block=block)
        entries = reply[0][1] if reply else []
        if self._own_pending and not entries:
            self._own_pending = False
        return entries

    async def _land(self, entries: list) -> None:
        readable, unreadable = _parse(entries)
        refused = await self._insert(readable) if readable else []
        dead = unreadable + [(entry_id, fields) for entry_id, fields, _ in refused]
        if dead:
            await self._dead_letter(dead)
        ids = [entry_id for entry_id, _ in entries]
        async with self.redis.pipeline() as pipe:  # MULTI: an acked entry is never left in the stream
            pipe.xack(self.stream, GROUP, *ids)
            pipe.xdel(self.stream, *ids)
            pipe.xlen(self.stream)
            *_, length = await pipe.execute()
        LAG.set(length)

    async def _insert(self, readable: list) -> list:
        """Lands the events in one transaction; returns those the database refuses as invalid."""
        try:
            async with self.engine.begin() as conn:
                inserted = await insert_events(conn, [event for _, _, event in readable])
        except (exc.IntegrityError, exc.DataError):
            if len(readable) == 1:
                return readable
            # One bad event must not hold the ledger up forever: find it by landing them singly.
            return [bad for item in readable for bad in await self._insert([item])]
        EVENTS.labels("inserted").inc(inserted)
        EVENTS.labels("duplicate").inc(len(readable) - inserted)
        return []

    async def _dead_letter(self, dead: list) -> None:
        # Its own round trip, before the ack: if this fails the entries stay and are retried.
        async with self.redis.pipeline() as pipe:
            for _, fields in dead:
                pipe.xadd(self.dead_letters, fields)
            await pipe.execute()
        EVENTS.labels("dead_letter").inc(len(dead))
        log.warning("usage ledger: %d entries cannot land; moved to %s", len(dead), self.dead_letters)


def _parse(entries: list) -> tuple[list, list]:
    """(entry_id, fields, event) for readable entries, (entry_id, fields) for the rest."""
    readable, unreadable = [], []
    for entry_id, fields in entries:
        if not fields:  # deleted while pending: nothing left to land
            continue
        try:
            readable.append((entry_id, fields, UsageEvent.from_json(fields.get(b"e", fields.get("e")))))
        except (KeyError, TypeError, ValueError):
            unreadable.append((entry_id, fields))
    return readable, unreadable
