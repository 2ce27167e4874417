"""Sidecar 0's reconciler: what Envoy's access log says clients got, into the ledger and the counters.

Why sidecar 0: it runs wherever Envoy runs (the same host under `clew up`, the same pod in
Kubernetes, where the control plane is a Deployment of its own without Envoy's files); it is always
running there (restarted by the supervisor); and without Redis it holds the quota counter the
corrections must settle. Exactly one per Envoy, so each access log has one reader.

Each step reads the new lines of the log (plugins.access_log_tail), keeps those of requests Envoy
did not finish cleanly as pending corrections together with the new read position (one commit,
plugins.delivery_store), then tries the pending ones: a row that says more was delivered than went
through is corrected (plugins.ledger_correction) and the quota and spend counters follow it by the
same amounts. A correction whose row has not landed yet (its event still queued or spooled) is tried
again with a growing delay, for PENDING_HORIZON_SECONDS.
"""
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from plugins.access_log_rotation import rename_away, reopen_logs
from plugins.access_log_tail import LogTail
from plugins.deliveries import suspect
from plugins.delivery_store import DeliveryStore
from plugins.ledger_correction import MISSING, Change, correct
from plugins.metrics import DELIVERY_CORRECTIONS, DELIVERY_LINES, DELIVERY_PENDING
from plugins.spend_store import ACCOUNT, key_field

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0             # Envoy flushes its access log every second
PENDING_HORIZON_SECONDS = 24 * 3600  # past a Redis or database outage of a day, a row that never came is let go
MAX_RETRY_SECONDS = 600.0  # a row late by an outage: at most 144 lookups a day while it is away
MAX_BACKOFF_SECONDS = 30.0
REOPEN_RETRY_SECONDS = 30.0


class DeliveryReconciler:
    def __init__(self, tail: LogTail, store: DeliveryStore, engine, settle: Callable[[Change], Awaitable[None]],
                 rotate_bytes: int = 0, reopen: Callable[[], Awaitable[bool]] | None = None, clock=time.time):
        self.tail, self.store, self.engine, self.settle = tail, store, engine, settle
        self.rotate_bytes, self.reopen, self.clock = rotate_bytes, reopen, clock
        self._renamed_at: float | None = None  # the log was renamed away; Envoy has not reopened it yet

    async def step(self) -> bool:
        """One round; True when it read lines (more may be waiting)."""
        lines = self.tail.read()
        if lines:
            await self.store.advance(self.tail.position, [d for d in map(suspect, lines) if d], self.clock())
            DELIVERY_LINES.inc(len(lines))  # once committed: a restart reads on from here
        await self._resolve()
        if not lines:
            await self._rotate()
        return bool(lines)

    async def run(self) -> None:
        delay = 0.0
        while True:
            try:
                busy = await self.step()
                delay = 0.0
            except Exception as error:  # noqa: BLE001 - a database outage: keep the position, retry later
                delay = min(max(delay * 2, POLL_SECONDS), MAX_BACKOFF_SECONDS)
                log.warning("delivery reconciler: %s: %s; retrying in %.0f s", type(error).__name__, error, delay)
                busy = False
            if not busy:
                await asyncio.sleep(delay or POLL_SECONDS)

    async def _resolve(self) -> None:
        now = self.clock()
        for delivery, first_seen, tries in await self.store.due(now):
            outcome, change = await correct(self.engine, delivery)
            if outcome == MISSING:
                if now - first_seen < PENDING_HORIZON_SECONDS:
                    # Its row is usually a moment behind (the usage queue's lag): ask again soon, then less often.
                    await self.store.later(delivery.request_id, now + min(0.5 * 2 ** tries, MAX_RETRY_SECONDS))
                    continue
                log.warning("request %s: Envoy did not finish it, and no usage of it reached the ledger in %d s",
                            delivery.request_id, PENDING_HORIZON_SECONDS)
                outcome = "expired"
            if change is not None:
                log.info("request %s: billed for what went through (status %d, %+d tokens, %+d nano-USD)",
                         delivery.request_id, change.status, change.tokens, change.nanos)
                await self._settle(delivery.request_id, change)
            DELIVERY_CORRECTIONS.labels(outcome).inc()
            await self.store.done(delivery.request_id)
        DELIVERY_PENDING.set(self.store.pending())

    async def _settle(self, request_id: str, change: Change) -> None:
        try:
            await self.settle(change)
        except Exception as error:  # noqa: BLE001 - the row is right; a counter rebuilt from it will be too
            log.warning("request %s: its counters could not follow the correction: %s: %s",
                        request_id, type(error).__name__, error)

    async def _rotate(self) -> None:
        """Rename the log away once read to its end and over rotate_bytes; ask Envoy to reopen it."""
        if not self.rotate_bytes or self.reopen is None:
            return
        if self.tail.at_path and self.tail.size() >= self.rotate_bytes:
            rename_away(self.tail.path)
            self._renamed_at = 0.0  # reopen now
        if self._renamed_at is None or self.tail.path.exists():
            self._renamed_at = None
            return
        now = self.clock()
        if now - self._renamed_at >= REOPEN_RETRY_SECONDS:  # Envoy did not answer last time: ask again
            self._renamed_at = now
            await self.reopen()


def settle_counters(quotas, spend=None) -> Callable[[Change], Awaitable[None]]:
    """Move the quota counter (pool tokens only, as it counts) and the spend counters (every charge) of
    a corrected row's month by what the correction changed."""
    async def settle(change: Change) -> None:
        month = change.created_at.strftime("%Y-%m")
        if change.key_source == "pool" and change.tokens:
            await quotas.adjust(change.account_id, month, change.tokens)
        if spend is not None and change.nanos:
            fields = [ACCOUNT] + ([key_field(change.key_id)] if change.key_id else [])
            await spend.settle(change.account_id, month, "", fields, change.nanos)
    return settle


def reconciler_for(settings, engine, settle: Callable[[Change], Awaitable[None]]) -> DeliveryReconciler | None:
    """The reconciler of this host's Envoy, or None when its access log goes nowhere it can read."""
    if not settings.delivery_log:
        log.warning("Envoy's access log is not a file (CLEW_ENVOY_ACCESS_LOG=%s) and CLEW_DELIVERY_LOG is unset: "
                    "answers cut during their last write stay billed in full", settings.envoy_access_log)
        return None
    store = DeliveryStore(settings.home / "state" / "deliveries.db")
    return DeliveryReconciler(LogTail(Path(settings.delivery_log), store.position()), store, engine, settle,
                              settings.delivery_log_rotate_bytes, partial(reopen_logs, settings.admin_port))
