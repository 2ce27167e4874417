"""Account rows: the queries the account handlers need, nothing more."""
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.changes import record_account_change
from control_plane.ids import new_id
from schemas.tables import accounts, password_resets


class DuplicateEmail(Exception):
    pass


async def create_account(conn: AsyncConnection, email: str, password_hash: str) -> dict:
    row = {"id": new_id("acct"), "email": email, "password_hash": password_hash,
           "tier": "free", "session_epoch": 0, "created_at": clock.now()}
    try:
        async with conn.begin_nested():
            await conn.execute(sa.insert(accounts).values(**row))
    except IntegrityError as exc:
        raise DuplicateEmail(email) from exc
    return row


async def find_by_email(conn: AsyncConnection, email: str):
    return (await conn.execute(sa.select(accounts).where(accounts.c.email == email))).first()


async def find_by_id(conn: AsyncConnection, account_id: str):
    return (await conn.execute(sa.select(accounts).where(accounts.c.id == account_id))).first()


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_reset_token(conn: AsyncConnection, account_id: str, ttl_seconds: int) -> str:
    """A new reset token; the account's earlier unused ones stop working (only the latest mail counts)."""
    token = secrets.token_urlsafe(32)
    await conn.execute(sa.update(password_resets).where(
        password_resets.c.account_id == account_id, password_resets.c.used_at.is_(None)).values(used_at=clock.now()))
    await conn.execute(sa.insert(password_resets).values(
        id=new_id("pwr"), account_id=account_id, token_hash=_token_digest(token),
        expires_at=clock.now() + timedelta(seconds=ttl_seconds)))
    return token


async def consume_reset_token(conn: AsyncConnection, token: str) -> str | None:
    """Mark a valid, unused, unexpired token used and return its account id, else None.

    The conditional UPDATE makes the token single-use even when two resets race."""
    now = clock.now()
    account_id = (await conn.execute(
        sa.update(password_resets)
        .where(password_resets.c.token_hash == _token_digest(token),
               password_resets.c.used_at.is_(None), password_resets.c.expires_at > now)
        .values(used_at=now).returning(password_resets.c.account_id))).scalar()
    return account_id


async def set_password(conn: AsyncConnection, account_id: str, password_hash: str) -> None:
    """New password, every earlier session token and outstanding reset link invalidated."""
    now = clock.now()
    await conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values(
        password_hash=password_hash, session_epoch=accounts.c.session_epoch + 1))
    await conn.execute(sa.update(password_resets).where(
        password_resets.c.account_id == account_id, password_resets.c.used_at.is_(None)).values(used_at=now))
    await record_account_change(conn, account_id)
