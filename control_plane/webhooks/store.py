"""Webhook rows: an account's endpoints, created with a secret, listed masked, deleted softly."""
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.ids import new_id
from control_plane.webhooks.signing import SecretBox, new_secret
from schemas.tables import webhook_deliveries, webhooks


async def create_webhook(conn: AsyncConnection, box: SecretBox, account_id: str, url: str, events: list[str],
                         description: str) -> tuple[dict, str]:
    """The new row and its secret, which is never shown again."""
    webhook_id, secret = new_id("wh"), new_secret()
    row = {"id": webhook_id, "account_id": account_id, "url": url, "events": events, "description": description,
           "secret_encrypted": box.encrypt(secret, webhook_id), "secret_last4": secret[-4:],
           "created_at": clock.now(), "deleted_at": None}
    await conn.execute(sa.insert(webhooks).values(**row))
    return row, secret


def _live(account_id: str):
    return sa.and_(webhooks.c.account_id == account_id, webhooks.c.deleted_at.is_(None))


async def active_webhooks(conn: AsyncConnection, account_id: str) -> list:
    return (await conn.execute(sa.select(webhooks).where(_live(account_id))
                               .order_by(webhooks.c.created_at, webhooks.c.id))).all()


async def count_active(conn: AsyncConnection, account_id: str) -> int:
    return (await conn.execute(sa.select(sa.func.count()).select_from(webhooks).where(_live(account_id)))).scalar_one()


async def delete_webhook(conn: AsyncConnection, account_id: str, webhook_id: str) -> bool:
    """Delete one of the account's own webhooks and cancel its queued deliveries; False if none."""
    now = clock.now()
    deleted = (await conn.execute(sa.update(webhooks).where(_live(account_id), webhooks.c.id == webhook_id)
                                  .values(deleted_at=now))).rowcount
    if deleted:
        await conn.execute(sa.update(webhook_deliveries).where(
            webhook_deliveries.c.webhook_id == webhook_id, webhook_deliveries.c.status == "pending")
            .values(status="cancelled", completed_at=now))
    return bool(deleted)
