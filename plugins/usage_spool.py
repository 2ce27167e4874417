"""A usage event that cannot be queued right now is kept on local disk, and queued once it can be.

Once a client has its answer, the usage must reach the ledger. The sink (a Redis Stream, or the
database when embedded) is given PUBLISH_TIMEOUT_SECONDS; if it fails or hangs, the event goes into
this process's spool, a SQLite file under CLEW_HOME/spool/ (one per sidecar process, so no two
writers meet), committed before `publish` returns. A background loop replays the spool in order
into the sink and deletes what landed; the ledger keeps one row per request_id, so an event that
reached the sink after its timeout and is replayed again is still counted once. A spool left by a
process that died is replayed when the process starts again.

Measured choice: holding the reply until Redis answers would turn a Redis outage into failed
requests; the spool keeps serving and costs one local SQLite commit (well under a millisecond) per
event, and only while the sink is unavailable.
"""
import asyncio
import logging
import sqlite3
from pathlib import Path

from plugins.metrics import USAGE_SPOOL_DEPTH, USAGE_SPOOLED
from schemas.events import UsageEvent
from schemas.private_files import create_private_file

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_SECONDS = 2.0
REPLAY_SECONDS = 1.0
REPLAY_BATCH = 200


class Spool:
    """An ordered, durable list of events (SQLite: one commit per event, WAL)."""

    def __init__(self, path: Path):
        create_private_file(path)  # SQLite gives its -wal and -shm files the same mode
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS events "
                         "(seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)")
        self._lock = asyncio.Lock()  # one statement at a time on the shared connection
        USAGE_SPOOL_DEPTH.set(self.depth())

    async def append(self, event: UsageEvent) -> None:
        async with self._lock:
            await asyncio.to_thread(self._db.execute, "INSERT INTO events (event) VALUES (?)", (event.to_json(),))
        USAGE_SPOOLED.inc()
        USAGE_SPOOL_DEPTH.inc()

    async def oldest(self, limit: int) -> list[tuple[int, UsageEvent]]:
        async with self._lock:
            rows = await asyncio.to_thread(lambda: self._db.execute(
                "SELECT seq, event FROM events ORDER BY seq LIMIT ?", (limit,)).fetchall())
        return [(seq, UsageEvent.from_json(raw)) for seq, raw in rows]

    async def remove_through(self, seq: int) -> None:
        async with self._lock:
            await asyncio.to_thread(self._db.execute, "DELETE FROM events WHERE seq <= ?", (seq,))
        USAGE_SPOOL_DEPTH.set(self.depth())

    def depth(self) -> int:
        return self._db.execute("SELECT count(*) FROM events").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class SpoolingSink:
    """A sink that never loses an event it was given: the inner sink, or else the spool."""

    def __init__(self, inner, spool: Spool, timeout: float = PUBLISH_TIMEOUT_SECONDS):
        self.inner, self.spool, self.timeout = inner, spool, timeout
        self._outage = False

    async def publish(self, event: UsageEvent) -> None:
        try:
            await asyncio.wait_for(self.inner.publish(event), self.timeout)
            return
        except Exception as exc:  # noqa: BLE001 - any failure of the queue: the spool keeps the event
            if not self._outage:
                self._outage = True
                log.warning("usage queue unavailable, spooling events to %s: %s: %s", self.spool.path,
                            type(exc).__name__, exc)
        await self.spool.append(event)

    async def replay_once(self) -> int:
        """Move the oldest spooled events into the inner sink, in order; how many landed."""
        landed = 0
        for seq, event in await self.spool.oldest(REPLAY_BATCH):
            try:
                await asyncio.wait_for(self.inner.publish(event), self.timeout)
            except Exception:  # noqa: BLE001 - still unavailable: try again on the next round
                break
            await self.spool.remove_through(seq)
            landed += 1
        if landed and self._outage and not self.spool.depth():
            self._outage = False
            log.warning("usage queue back; the spool is replayed")
        return landed

    async def replay_forever(self) -> None:
        while True:
            if not await self.replay_once():
                await asyncio.sleep(REPLAY_SECONDS)
