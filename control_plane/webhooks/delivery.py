"""The delivery worker: sends queued webhook deliveries, signed, and retries failures with backoff.

The queue is the webhook_deliveries table. A worker claims due rows by pushing their
next_attempt_at one lease ahead (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so replicas
never claim the same row; SQLite has one writer), POSTs each outside any transaction, then records
the attempt and the outcome in one transaction. A worker that dies mid-attempt leaves the row
claimed until the lease ends; then it is due again. So a restart loses nothing, and a receiver may
see a delivery twice (the `id` in the body is the event's, stable across attempts and webhooks).

After failed attempt n the next waits backoff_seconds * 2^(n-1); after max_attempts the delivery
is marked failed. Only a 2xx answer counts as delivered; redirects are not followed.
"""
import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import aiohttp
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine

from control_plane import clock
from control_plane.background import Loop
from control_plane.webhooks.signing import SecretBox, signature_header
from control_plane.webhooks.targets import RESOLVE_TIMEOUT, GuardedResolver, TargetRefused, check_target
from schemas.tables import webhook_attempts, webhook_deliveries, webhooks

log = logging.getLogger(__name__)
USER_AGENT = "Clew-Webhooks/1.0"
LEASE_MARGIN_SECONDS = 5
MAX_ERROR_LENGTH = 300

ATTEMPTS = Counter("clew_webhook_attempts_total", "Webhook delivery attempts, by outcome", ["result"])
ATTEMPT_SECONDS = Histogram("clew_webhook_attempt_duration_seconds", "Duration of webhook delivery attempts")
for _result in ("delivered", "retry", "failed", "cancelled"):
    ATTEMPTS.labels(_result)

deliveries, hooks = webhook_deliveries, webhooks


def backoff(config: dict, attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    return config["backoff_seconds"] * 2 ** (attempt - 1)


class DeliveryWorker:
    def __init__(self, engine: AsyncEngine, config: Callable[[], dict], box: SecretBox, *,
                 poll_seconds: float = 0.5, batch: int = 20):
        self.engine, self.config, self.box, self.batch = engine, config, box, batch
        self.session: aiohttp.ClientSession | None = None
        self.loop = Loop("webhook-delivery", self.run_once, poll_seconds)

    def start(self) -> None:
        self._open_session()
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop(grace=self.config()["timeout_seconds"] + 2)
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _open_session(self) -> None:
        resolver = GuardedResolver(lambda: self.config()["allow_private_targets"])
        connector = aiohttp.TCPConnector(resolver=resolver, limit=100, force_close=True)
        self.session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT})

    async def run_once(self) -> bool:
        """Attempts every due delivery (up to one batch); True when there were some."""
        if self.session is None:
            self._open_session()
        config = self.config()
        claimed = await self._claim(config)
        await asyncio.gather(*(self._attempt(row, config) for row in claimed))
        return bool(claimed)

    async def _claim(self, config: dict) -> list:
        now = clock.now()
        lease = timedelta(seconds=config["timeout_seconds"] + RESOLVE_TIMEOUT + LEASE_MARGIN_SECONDS)
        async with self.engine.begin() as conn:
            ids = (await conn.execute(
                sa.select(deliveries.c.id).where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
                .order_by(deliveries.c.next_attempt_at).limit(self.batch)
                .with_for_update(skip_locked=True))).scalars().all()
            if not ids:
                return []
            await conn.execute(sa.update(deliveries).where(deliveries.c.id.in_(ids))
                               .values(next_attempt_at=now + lease))
            return (await conn.execute(
                sa.select(deliveries.c.id, deliveries.c.webhook_id, deliveries.c.event_type, deliveries.c.payload,
                          deliveries.c.attempts, hooks.c.url, hooks.c.secret_encrypted, hooks.c.deleted_at)
                .join(hooks, hooks.c.id == deliveries.c.webhook_id).where(deliveries.c.id.in_(ids)))).all()

    async def _attempt(self, row, config: dict) -> None:
        try:
            if row.deleted_at is not None:
                await self._finish(row.id, {"status": "cancelled", "completed_at": clock.now()}, "cancelled")
                return
            started, began = clock.now(), time.monotonic()
            status_code, error = await self._post(row, config)
            elapsed = time.monotonic() - began
            ATTEMPT_SECONDS.observe(elapsed)
            await self._record(row, config, started, elapsed, status_code, error)
        except Exception:  # one bad row must not stop the others; it is retried after its lease
            log.exception("webhook delivery %s: could not attempt", row.id)

    async def _post(self, row, config: dict) -> tuple[int | None, str | None]:
        """(HTTP status or None, error or None) of one attempt."""
        timeout = config["timeout_seconds"]
        try:
            url = await check_target(row.url, config["allow_private_targets"])
            body = row.payload.encode()
            headers = {"Content-Type": "application/json", "X-Clew-Event": row.event_type,
                       "X-Clew-Delivery": row.id,
                       "X-Clew-Signature": signature_header(self.box.decrypt(row.secret_encrypted, row.webhook_id),
                                                            body, int(time.time()))}
            async with self.session.post(url, data=body, headers=headers, allow_redirects=False,
                                         timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                ok = 200 <= response.status < 300
                return response.status, None if ok else f"HTTP {response.status}"
        except TargetRefused as exc:
            return None, str(exc)
        except InvalidTag:
            return None, "the signing secret cannot be decrypted (CLEW_WEBHOOK_KEY or the internal secret changed?)"
        except TimeoutError:
            return None, f"timed out after {timeout} s"
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: {exc}"

    async def _record(self, row, config: dict, started, elapsed: float, status_code: int | None,
                      error: str | None) -> None:
        attempt, now = row.attempts + 1, clock.now()
        error = error[:MAX_ERROR_LENGTH] if error else None
        if error is None:
            result, changes = "delivered", {"status": "delivered", "completed_at": now, "last_error": None}
        elif attempt >= config["max_attempts"]:
            result, changes = "failed", {"status": "failed", "completed_at": now, "last_error": error}
        else:
            result, changes = "retry", {"next_attempt_at": now + timedelta(seconds=backoff(config, attempt)),
                                        "last_error": error}
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(webhook_attempts).values(
                delivery_id=row.id, attempt=attempt, started_at=started, duration_ms=int(elapsed * 1000),
                status_code=status_code, error=error, succeeded=error is None))
            await self._update(conn, row.id, {**changes, "attempts": attempt})
        ATTEMPTS.labels(result).inc()
        if result == "failed":
            log.warning("webhook delivery %s failed after %d attempts: %s", row.id, attempt, error)

    async def _finish(self, delivery_id: str, changes: dict, result: str) -> None:
        async with self.engine.begin() as conn:
            await self._update(conn, delivery_id, changes)
        ATTEMPTS.labels(result).inc()

    @staticmethod
    async def _update(conn, delivery_id: str, changes: dict) -> None:
        # Only while pending: deleting the webhook meanwhile cancelled it, and that must stick.
        await conn.execute(sa.update(deliveries).where(deliveries.c.id == delivery_id,
                                                       deliveries.c.status == "pending").values(**changes))
