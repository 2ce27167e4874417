"""API key rows. The key itself is never stored: only its SHA-256, a display prefix and last four.
Every change to a key that sidecars cache (revocation, limits, scope) is recorded on the account change
feed in the same transaction, so no sidecar keeps serving the old key for longer than one poll."""
import secrets

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.changes import record_account_change
from control_plane.ids import new_id
from control_plane.webhooks.events import emit
from schemas.credentials import API_KEY_PREFIX, key_digest
from schemas.tables import api_keys

PREFIX_LENGTH = len(API_KEY_PREFIX) + 4


def generate_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)  # 256 bits of randomness


NO_LIMITS = {"allowed_models": None, "monthly_budget_nanos": None, "requests_per_minute": None, "expires_at": None,
             "last_used_at": None}


async def create_key(conn: AsyncConnection, account_id: str, name: str, scope: str,
                     limits: dict | None = None) -> tuple[dict, str]:
    """`limits`: api_keys columns of the key's own limits (control_plane.keys.limits.columns)."""
    key = generate_key()
    row = {"id": new_id("key"), "account_id": account_id, "name": name, "key_hash": key_digest(key),
           "prefix": key[:PREFIX_LENGTH], "last4": key[-4:], "scope": scope, "created_at": clock.now(),
           "revoked_at": None, **NO_LIMITS, **(limits or {})}
    await conn.execute(sa.insert(api_keys).values(**row))
    await emit(conn, account_id, "key.created", {"id": row["id"], "name": name, "prefix": row["prefix"],
                                                 "last4": row["last4"], "scope": scope,
                                                 "created_at": clock.iso(row["created_at"])})
    return row, key


async def active_keys(conn: AsyncConnection, account_id: str) -> list:
    return (await conn.execute(
        sa.select(api_keys).where(api_keys.c.account_id == account_id, api_keys.c.revoked_at.is_(None))
        .order_by(api_keys.c.created_at, api_keys.c.id))).all()


async def active_key(conn: AsyncConnection, account_id: str, key_id: str):
    """One of the account's own active keys, or None (another account's id reads as none)."""
    return (await conn.execute(sa.select(api_keys).where(
        api_keys.c.id == key_id, api_keys.c.account_id == account_id, api_keys.c.revoked_at.is_(None)))).first()


async def update_key(conn: AsyncConnection, account_id: str, key_id: str, values: dict, event: dict) -> bool:
    """Change one of the account's own active keys; False when there is none by that id. Sidecars
    drop their cached copy of it through the change feed, committed with the change; `event` is the
    key.updated webhook's data."""
    updated = (await conn.execute(
        sa.update(api_keys).where(api_keys.c.id == key_id, api_keys.c.account_id == account_id,
                                  api_keys.c.revoked_at.is_(None)).values(**values))).rowcount
    if updated:
        await record_account_change(conn, account_id)
        await emit(conn, account_id, "key.updated", event)
    return bool(updated)


async def owned_key_exists(conn: AsyncConnection, account_id: str, key_id: str) -> bool:
    """Whether the account has (or had: revoked ones count) a key by that id."""
    return (await conn.execute(sa.select(api_keys.c.id).where(
        api_keys.c.id == key_id, api_keys.c.account_id == account_id))).first() is not None


async def count_active(conn: AsyncConnection, account_id: str) -> int:
    return (await conn.execute(sa.select(sa.func.count()).select_from(api_keys).where(
        api_keys.c.account_id == account_id, api_keys.c.revoked_at.is_(None)))).scalar_one()


async def revoke_key(conn: AsyncConnection, account_id: str, key_id: str) -> bool:
    """Revoke one of the account's own active keys; False when there is none by that id."""
    revoked = (await conn.execute(
        sa.update(api_keys).where(api_keys.c.id == key_id, api_keys.c.account_id == account_id,
                                  api_keys.c.revoked_at.is_(None))
        .values(revoked_at=clock.now()))).rowcount
    if revoked:
        await record_account_change(conn, account_id)
        await emit(conn, account_id, "key.revoked", {"id": key_id})
    return bool(revoked)
