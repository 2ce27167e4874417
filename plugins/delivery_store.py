"""The delivery reconciler's own durable state: how far it read Envoy's log, and what it still owes.

A local SQLite file under CLEW_HOME (0600), like the usage spool. The read position and the lines
found cut are committed together, so after a crash the reader neither skips a cut line nor queues
one twice. A pending correction stays until the ledger has the request's row (its usage event may
still be queued or spooled) or until it is older than the horizon.
"""
import asyncio
import json
import sqlite3
from pathlib import Path

from plugins.access_log_tail import Position
from plugins.deliveries import Delivery
from schemas.private_files import create_private_file, private_directory

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS position (id INTEGER PRIMARY KEY CHECK (id = 0), inode INTEGER NOT NULL, "
    "offset INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS pending (request_id TEXT PRIMARY KEY, delivery TEXT NOT NULL, "
    "first_seen REAL NOT NULL, next_try REAL NOT NULL, tries INTEGER NOT NULL DEFAULT 0)",
)


class DeliveryStore:
    def __init__(self, path: Path):
        private_directory(Path(path).parent)
        create_private_file(path)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._lock = asyncio.Lock()  # one statement at a time on the shared connection

    def position(self) -> Position | None:
        row = self._db.execute("SELECT inode, offset FROM position").fetchone()
        return Position(*row) if row else None

    async def advance(self, position: Position, found: list[Delivery], now: float) -> None:
        """Record the new read position and the cut deliveries read up to it, in one commit."""
        rows = [(d.request_id, json.dumps(d.to_json()), now, now) for d in found]
        async with self._lock:
            await asyncio.to_thread(self._advance, position, rows)

    def _advance(self, position: Position, rows: list[tuple]) -> None:
        with self._db:  # BEGIN ... COMMIT
            self._db.execute("BEGIN")
            # A line read again (the position was not yet committed when the process died) keeps its entry.
            self._db.executemany("INSERT OR IGNORE INTO pending (request_id, delivery, first_seen, next_try) "
                                 "VALUES (?, ?, ?, ?)", rows)
            self._db.execute("INSERT OR REPLACE INTO position (id, inode, offset) VALUES (0, ?, ?)",
                             (position.inode, position.offset))

    async def due(self, now: float, limit: int = 200) -> list[tuple[Delivery, float, int]]:
        """Pending deliveries to try now: (delivery, first seen, tries so far), oldest first."""
        async with self._lock:
            rows = await asyncio.to_thread(lambda: self._db.execute(
                "SELECT delivery, first_seen, tries FROM pending WHERE next_try <= ? ORDER BY first_seen LIMIT ?",
                (now, limit)).fetchall())
        return [(Delivery.from_json(json.loads(raw)), first_seen, tries) for raw, first_seen, tries in rows]

    async def done(self, request_id: str) -> None:
        async with self._lock:
            await asyncio.to_thread(self._db.execute, "DELETE FROM pending WHERE request_id = ?", (request_id,))

    async def later(self, request_id: str, next_try: float) -> None:
        async with self._lock:
            await asyncio.to_thread(self._db.execute, "UPDATE pending SET next_try = ?, tries = tries + 1 "
                                    "WHERE request_id = ?", (next_try, request_id))

    def pending(self) -> int:
        return self._db.execute("SELECT count(*) FROM pending").fetchone()[0]

    def close(self) -> None:
        self._db.close()
