"""A key's last use, set as the ledger lands its events: the latest time of each key's events in a batch,
never moved backwards by a late one, on both databases."""
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from control_plane import clock
from control_plane.keys import store
from control_plane.usage.ledger import insert_events
from schemas.events import UsageEvent
from schemas.key_use import latest_use
from schemas.tables import accounts, api_keys

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC).timestamp()


def _event(key_id: str, at: float) -> UsageEvent:
    return UsageEvent(request_id=uuid.uuid4().hex, account_id="acct_use", key_id=key_id, key_source="pool",
                      model="deepseek-v4", provider="deepseek", prompt_tokens=1, completion_tokens=1, cost_nanos=1,
                      status=200, latency_ms=1, streamed=False, created_at=at)


async def _last_used(engine, key_id: str):
    async with engine.connect() as conn:
        found = (await conn.execute(sa.select(api_keys.c.last_used_at).where(api_keys.c.id == key_id))).scalar()
    return None if found is None else clock.as_utc(found).timestamp()


def test_the_latest_time_per_key_and_no_sessions():
    assert latest_use([_event("a", 2), _event("b", 1), _event("a", 5), _event("a", 3), _event("", 9)]) == {
        "a": 5, "b": 1}


async def test_landing_sets_each_keys_latest_use_and_never_moves_it_back(migrated_engine):
    async with migrated_engine.begin() as conn:
        await conn.execute(sa.insert(accounts).values(id="acct_use", email="use@example.com", password_hash="x",
                                                      tier="free", created_at=clock.now()))
        (first, _), (second, _), (idle, _) = [await store.create_key(conn, "acct_use", name, "default")
                                              for name in ("first", "second", "idle")]
    async with migrated_engine.begin() as conn:
        await insert_events(conn, [_event(first["id"], T0 + 5), _event(first["id"], T0 + 9),
                                   _event(second["id"], T0 + 1), _event("", T0 + 20)])
    async with migrated_engine.begin() as conn:
        await insert_events(conn, [_event(first["id"], T0 + 2)])  # late: an older event lands after
    assert [await _last_used(migrated_engine, k["id"]) for k in (first, second, idle)] == [T0 + 9, T0 + 1, None]
