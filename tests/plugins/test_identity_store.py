"""The sidecar's identity cache follows the account change feed, and says so once when it cannot."""
import asyncio
import logging

from plugins.identity_store import IdentityStore
from plugins.metrics import CHANGE_FEED_ERRORS
from schemas.database import create_engine
from schemas.tables import account_changes


async def _polls_failed_reach(count: float) -> None:
    while CHANGE_FEED_ERRORS._value.get() < count:
        await asyncio.sleep(0.05)


async def _logged(caplog, text: str) -> None:
    while not any(text in r.getMessage() for r in caplog.records):
        await asyncio.sleep(0.05)


async def test_an_outage_of_the_change_feed_is_logged_once_when_it_starts_and_once_when_it_ends(tmp_path, caplog):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'feed.db'}")  # no tables yet: every poll fails
    store, failed_before = IdentityStore(engine, ttl=60), CHANGE_FEED_ERRORS._value.get()
    caplog.set_level(logging.WARNING, logger="plugins.identity_store")
    following = asyncio.create_task(store.follow_changes())
    try:
        await asyncio.wait_for(_polls_failed_reach(failed_before + 4), 30)
        async with engine.begin() as conn:
            await conn.run_sync(account_changes.metadata.create_all, tables=[account_changes])
        await asyncio.wait_for(_logged(caplog, "change feed back after"), 30)
    finally:
        following.cancel()
        await engine.dispose()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("change feed unavailable" in m for m in messages) == 1, messages
    assert sum("change feed back after" in m for m in messages) == 1, messages
