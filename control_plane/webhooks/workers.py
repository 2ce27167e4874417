"""The control plane's webhook background work: delivering queued events, and watching quotas."""
from aiohttp import web

from control_plane.services import SERVICES
from control_plane.webhooks.delivery import DeliveryWorker
from control_plane.webhooks.quota_watch import QuotaWatch
from control_plane.webhooks.routes import SECRET_BOX


async def run_webhook_workers(app: web.Application):
    """cleanup_ctx: both loops run from startup until cleanup (which runs before the engine closes)."""
    svc = app[SERVICES]
    delivery = DeliveryWorker(svc.engine, lambda: svc.config.webhooks, app[SECRET_BOX])
    watch = QuotaWatch(svc.engine, lambda: svc.config)
    delivery.start()
    watch.start()
    yield
    await watch.stop()
    await delivery.stop()
