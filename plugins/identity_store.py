"""Accounts and API keys as the sidecar needs them: from memory, read through to the database.

Entries live up to `ttl` seconds, but a change that matters (key revoked, password reset, tier
changed) evicts them within one poll of the account change feed, which the control plane writes
in the same transaction as the change.
"""
import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine

from plugins.metrics import CACHE_LOOKUPS, CHANGE_FEED_ERRORS
from schemas import model_patterns
from schemas.tables import account_changes, accounts, api_keys

log = logging.getLogger(__name__)
CACHE_SIZE = 200_000
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Account:
    account_id: str
    tier: str
    session_epoch: int
    spend_cap_nanos: int | None = None  # the account's own monthly cap; the tier may set one too


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    account_id: str
    scope: str
    # Limits of the key's own (None: no limit beyond the account's); see schemas.tables.api_keys.
    allowed_models: tuple[str, ...] | None = None
    monthly_budget_nanos: int | None = None
    requests_per_minute: int | None = None
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


_ABSENT = object()  # cached "no such key": random guesses must not each cost a query


class IdentityUnavailable(Exception):
    """The database could not be asked about an account or key this process has not cached."""


class IdentityStore:
    def __init__(self, engine: AsyncEngine, ttl: float):
        self.engine = engine
        self._accounts: TTLCache = TTLCache(CACHE_SIZE, ttl)
        self._keys: TTLCache = TTLCache(CACHE_SIZE, ttl)
        self._evictions = 0
        self._also_evict: list = []
        self.revision = 0

    def also_evict(self, evict) -> None:
        """Have `evict(account_id)` called with each eviction: other caches of account data follow the feed."""
        self._also_evict.append(evict)

    async def account(self, account_id: str) -> Account | None:
        return await self._cached(self._accounts, account_id, self._load_account)

    async def key(self, digest: str) -> KeyRecord | None:
        return await self._cached(self._keys, digest, self._load_key)

    async def _cached(self, cache: TTLCache, ident: str, load):
        found = cache.get(ident)
        if found is not None:
            CACHE_LOOKUPS.labels("hit").inc()
            return None if found is _ABSENT else found
        CACHE_LOOKUPS.labels("miss").inc()
        evictions_before = self._evictions
        try:
            found = await load(ident)
        except (sa.exc.SQLAlchemyError, OSError, asyncio.TimeoutError) as exc:
            # Nothing is cached: the same credential is checked afresh once the database is back.
            # The driver's own message: SQLAlchemy's would carry the query's parameters (a key digest).
            raise IdentityUnavailable(f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}") from exc
        # An eviction while we were reading means our row may predate the change: don't keep it.
        if self._evictions == evictions_before:
            cache[ident] = _ABSENT if found is None else found
        return found

    async def _load_account(self, account_id: str) -> Account | None:
        query = sa.select(accounts.c.id, accounts.c.tier, accounts.c.session_epoch, accounts.c.spend_cap_nanos).where(
            accounts.c.id == account_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return Account(*row) if row else None

    async def _load_key(self, digest: str) -> KeyRecord | None:
        c = api_keys.c
        query = sa.select(c.id, c.account_id, c.scope, c.allowed_models, c.monthly_budget_nanos,
                          c.requests_per_minute, c.expires_at).where(c.key_hash == digest, c.revoked_at.is_(None))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        expires_at = row.expires_at
        if expires_at is not None and expires_at.tzinfo is None:  # SQLite hands back naive UTC
            expires_at = expires_at.replace(tzinfo=UTC)
        return KeyRecord(row.id, row.account_id, row.scope, model_patterns.load(row.allowed_models),
                         row.monthly_budget_nanos, row.requests_per_minute, expires_at)

    def evict(self, account_id: str) -> None:
        self._evictions += 1
        self._accounts.pop(account_id, None)
        for digest in [d for d, rec in self._keys.items() if rec is not _ABSENT and rec.account_id == account_id]:
            self._keys.pop(digest, None)
        for evict in self._also_evict:
            evict(account_id)

    async def start_following(self) -> None:
        async with self.engine.connect() as conn:
            latest = await conn.execute(sa.select(sa.func.max(account_changes.c.revision)))
            self.revision = latest.scalar() or 0

    async def follow_changes(self) -> None:
        """Poll the change feed forever; while the database is away, keep serving what is cached."""
        failing_since = None  # an outage is logged when it starts and when it ends, not on every poll
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.apply_changes()
            except Exception as exc:  # noqa: BLE001 - any database failure: retry on the next poll
                CHANGE_FEED_ERRORS.inc()
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.warning("account change feed unavailable, serving cached identities: %s", exc)
                continue
            if failing_since is not None:
                log.warning("account change feed back after %.1f s", time.monotonic() - failing_since)
                failing_since = None

    async def apply_changes(self) -> None:
        query = (sa.select(account_changes.c.revision, account_changes.c.account_id)
                 .where(account_changes.c.revision > self.revision).order_by(account_changes.c.revision))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        for revision, account_id in rows:
            self.evict(account_id)
            self.revision = revision
