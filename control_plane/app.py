"""The control plane's aiohttp application."""
import asyncio

from aiohttp import web
from redis.asyncio import Redis

from control_plane import changes
from control_plane.access_log import access_log_middleware
from control_plane.accounts import passwords
from control_plane.accounts import routes as accounts
from control_plane.accounts.mailer import create_mailer
from control_plane.accounts.throttle import MemoryLoginThrottle, RedisLoginThrottle
from control_plane.activity import routes as activity
from control_plane.billing import routes as billing
from control_plane.billing import spend_cap, stripe_api
from control_plane.billing.usage_charges import run_usage_charger
from control_plane.dashboard import routes as dashboard
from control_plane.errors import error_middleware
from control_plane.identity import IDENTITY, identity_middleware
from control_plane.ip_limits import LIMITER, create_limiter
from control_plane.keys import routes as keys
from control_plane.marketplace import catalog
from control_plane.marketplace import routes as marketplace
from control_plane.metrics import metrics_middleware
from control_plane.models import routes as models
from control_plane.openapi import routes as openapi
from control_plane.provider_keys import routes as provider_keys
from control_plane.requests import url_text_middleware
from control_plane.services import SERVICES, Services
from control_plane.telemetry import routes as telemetry
from control_plane.updates import releases
from control_plane.updates import routes as updates
from control_plane.usage import routes as usage
from control_plane.usage.ledger import LedgerConsumer
from control_plane.webhooks import routes as webhooks
from control_plane.webhooks.signing import SecretBox
from control_plane.webhooks.workers import run_webhook_workers
from schemas import config_reload
from schemas.database import create_engine
from schemas.gateway import ConfigFile
from schemas.redis_client import connect
from schemas.settings import Settings


def _throttle(redis: Redis | None, prefix: str):
    return MemoryLoginThrottle() if redis is None else RedisLoginThrottle(redis, prefix)


def create_app(settings: Settings, config_file: ConfigFile) -> web.Application:
    config = config_file.current
    passwords.configure(config.password_hash)
    # Metrics outermost, so they count the status the client really got.
    app = web.Application(client_max_size=config.max_request_body_bytes,
                          middlewares=[access_log_middleware, metrics_middleware, error_middleware,
                                       url_text_middleware, identity_middleware])
    redis = connect(settings.redis_url) if settings.redis_url else None
    app[IDENTITY] = settings.internal_secret
    app[SERVICES] = Services(settings=settings, config_file=config_file,
                             engine=create_engine(settings.database_url, settings.database_schema),
                             throttle=_throttle(redis, settings.redis_prefix),
                             mailer=create_mailer(settings.smtp_url, settings.outbox_path), redis=redis)
    app.add_routes(accounts.routes)
    app.add_routes(keys.routes)
    app.add_routes(models.routes)
    app.add_routes(openapi.routes)
    app.add_routes(marketplace.routes)
    app.add_routes(telemetry.routes)
    app.add_routes(updates.routes)
    app.add_routes(webhooks.routes)
    app[LIMITER] = create_limiter(redis, settings.redis_prefix)
    app[webhooks.SECRET_BOX] = SecretBox.from_env(settings.internal_secret)
    app.on_startup.append(_load_platform_data)
    app.cleanup_ctx.append(run_webhook_workers)
    app.add_routes(usage.routes)
    app.add_routes(activity.routes)
    app.add_routes(billing.routes)
    app.add_routes(spend_cap.routes)
    app.add_routes(provider_keys.routes)
    app.add_routes(dashboard.routes)
    app.cleanup_ctx.append(stripe_api.http_session)
    app.cleanup_ctx.append(run_usage_charger)  # after the Stripe session it uses
    app.cleanup_ctx.append(_follow_config)
    app.cleanup_ctx.append(_prune_account_changes)
    if redis is not None:
        ledger = LedgerConsumer(redis, settings.redis_prefix, app[SERVICES].engine)

        async def start_ledger(_app: web.Application) -> None:
            ledger.start()

        async def stop_ledger(_app: web.Application) -> None:
            await ledger.stop()

        app.on_startup.append(start_ledger)
        app.on_cleanup.append(stop_ledger)  # before _close: it still needs the engine and Redis
    app.on_cleanup.append(_close)
    return app


async def _load_platform_data(app: web.Application) -> None:
    # Operators edit these files; a bad one stops the start, naming each problem.
    await catalog.sync(app[SERVICES].engine, catalog.catalog_file())
    await releases.sync(app[SERVICES].engine, releases.releases_file())


async def _prune_account_changes(app: web.Application):
    loop = changes.pruning_loop(app[SERVICES].engine)
    loop.start()
    yield
    await loop.stop()


async def _follow_config(app: web.Application):
    config_file = app[SERVICES].config_file
    config_reload.loaded(config_file)

    async def follow():
        while True:
            await asyncio.sleep(1)
            config_reload.record(config_file, config_file.reload_if_changed())
    task = asyncio.create_task(follow())
    yield
    task.cancel()


async def _close(app: web.Application) -> None:
    svc = app[SERVICES]
    await svc.engine.dispose()
    if svc.redis is not None:
        await svc.redis.aclose()
