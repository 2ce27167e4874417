"""provider_keys rows: one sealed key per (account, provider); storing another replaces it.

Only the sealed form (schemas.sealed_keys) and the last four characters are stored. Each change is
announced on the account change feed in its own transaction, so sidecars drop their cached copy.
"""
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.changes import record_account_change
from control_plane.db.upsert import insert_for
from control_plane.ids import new_id
from schemas.sealed_keys import KeySealer
from schemas.tables import provider_keys

# Showing the last four of a shorter key would show too much of it.
MIN_LENGTH_FOR_LAST4 = 12


def last4(key: str) -> str:
    return key[-4:] if len(key) >= MIN_LENGTH_FOR_LAST4 else ""


async def put_key(conn: AsyncConnection, sealer: KeySealer, account_id: str, provider: str, key: str) -> dict:
    """Store (or replace) the account's key for `provider`; the row as stored, without the key."""
    sealed = sealer.seal(key, account_id, provider)
    row = {"id": new_id("pk"), "account_id": account_id, "provider": provider, "nonce": sealed.nonce,
           "ciphertext": sealed.ciphertext, "last4": last4(key), "created_at": clock.now()}
    insert = insert_for(conn, provider_keys).values(**row)
    # Replacing is one statement, so two concurrent stores cannot collide on the unique pair.
    await conn.execute(insert.on_conflict_do_update(
        index_elements=["account_id", "provider"],
        set_={name: insert.excluded[name] for name in ("id", "nonce", "ciphertext", "last4", "created_at")}))
    await record_account_change(conn, account_id)
    return row


async def account_keys(conn: AsyncConnection, account_id: str) -> list:
    query = (sa.select(provider_keys.c.id, provider_keys.c.provider, provider_keys.c.last4,
                       provider_keys.c.created_at)
             .where(provider_keys.c.account_id == account_id).order_by(provider_keys.c.provider))
    return (await conn.execute(query)).all()


async def delete_key(conn: AsyncConnection, account_id: str, provider: str) -> bool:
    """Delete the account's own key for `provider`; False when it has none."""
    deleted = (await conn.execute(sa.delete(provider_keys).where(
        provider_keys.c.account_id == account_id, provider_keys.c.provider == provider))).rowcount
    if deleted:
        await record_account_change(conn, account_id)
    return bool(deleted)
