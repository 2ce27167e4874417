"""The control plane's webhook background work: delivering queued events, and watching quotas and spend caps."""
from aiohttp import web

from control_plane.services import SERVICES
from control_plane.webhooks.delivery import DeliveryWorker
from control_plane.webhooks.quota_watch import QuotaWatch
from control_plane.webhooks.routes import SECRET_BOX
from control_plane.webhooks.spend_watch import SpendWatch


async def run_webhook_workers(app: web.Application):
    """cleanup_ctx: the loops run from startup until cleanup (which runs before the engine closes)."""
    svc = app[SERVICES]
    delivery = DeliveryWorker(svc.engine, lambda: svc.config.webhooks, app[SECRET_BOX])
    watches = [QuotaWatch(svc.engine, lambda: svc.config), SpendWatch(svc.engine, lambda: svc.config)]
    delivery.start()
    for watch in watches:
        watch.start()
    yield
    for watch in watches:
        await watch.stop()
    await delivery.stop()
