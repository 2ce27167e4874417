"""One sidecar process: the gRPC server Envoy calls, its ops endpoints, and its background loops."""
import asyncio
import logging
from datetime import UTC, datetime

import grpc

from plugins import envoy_grpc
from plugins.auth import AuthPlugin
from plugins.byok import ProviderKeys
from plugins.chain import Chain
from plugins.cooldowns import MemoryCooldowns, RedisCooldowns
from plugins.counters import MemoryWindows, RedisWindows
from plugins.delivery_reconciler import reconciler_for, settle_counters
from plugins.endpoints import Dependencies, Endpoints
from plugins.fallback import Attempt
from plugins.grpc_guard import RequireSidecarToken, prepare_socket, restrict_socket
from plugins.identity_store import IdentityStore
from plugins.quota_store import MemoryQuota, RedisQuota
from plugins.runtime_config import RuntimeConfig
from plugins.spend_store import MemorySpend, RedisSpend
from plugins.usage_sink import create_sink
from plugins.usage_spool import Spool, SpoolingSink
from plugins.video_jobs import VideoJobs
from schemas.database import create_engine
from schemas.gateway import tier_spend_cap_nanos
from schemas.internal_api import sidecar_token
from schemas.ops_endpoints import serve_ops
from schemas.readiness import dependency_checks
from schemas.redis_client import connect
from schemas.sealed_keys import sealer_from
from schemas.settings import Settings
from schemas.shutdown import until_terminated

log = logging.getLogger("clew.sidecar")
STOP_GRACE_SECONDS = 5  # within clew up's and Kubernetes' wait before they kill


async def serve(settings: Settings, index: int) -> None:
    socket, metrics_port = settings.sidecar_sockets[index], settings.sidecar_metrics_port + index
    runtime = RuntimeConfig(settings.config_path)
    engine = create_engine(settings.database_url, settings.database_schema)
    redis = connect(settings.redis_url) if settings.redis_url else None
    store = IdentityStore(engine, runtime.current.config.identity_cache_seconds)
    await store.start_following()
    auth = AuthPlugin(store, settings.jwt_secret)
    provider_keys = ProviderKeys(engine, sealer_from(settings.byok_key), runtime.current.config.identity_cache_seconds)
    store.also_evict(provider_keys.evict)
    windows = RedisWindows(redis, settings.redis_prefix) if redis else MemoryWindows()
    cooldowns = RedisCooldowns(redis, settings.redis_prefix) if redis else MemoryCooldowns()
    quotas = RedisQuota(redis, settings.redis_prefix, engine) if redis else MemoryQuota(engine)
    def tier_capped(tier: str) -> bool:
        return tier_spend_cap_nanos(runtime.current.tier(tier)) is not None

    spend = (RedisSpend(redis, settings.redis_prefix, engine, tier_capped) if redis
             else MemorySpend(engine, tier_capped))
    store.also_evict(spend.forget)  # counters of limits removed are dropped (plugins.spend_store)
    # One spool file per process: a usage event the queue cannot take now waits there (plugins.usage_spool).
    sink = SpoolingSink(create_sink(redis, settings.redis_prefix, engine),
                        Spool(settings.home / "spool" / f"sidecar-{index}.db"))
    # One plugin chain per AI endpoint, chosen by path when Envoy opens a request's stream.
    endpoints = Endpoints(Dependencies(
        identities=store, jwt_secret=settings.jwt_secret, windows=windows, quotas=quotas, cooldowns=cooldowns,
        provider_keys=provider_keys, sink=sink, video_jobs=VideoJobs(engine), public_url=settings.public_url,
        clock=lambda: datetime.now(UTC), spend=spend))
    # Buffered request bodies (prompts, inline images) arrive in one message: allow the largest.
    largest = 2 * runtime.current.config.upstream["max_request_body_bytes"] + 1024 * 1024
    # Envoy only (plugins.grpc_guard): a private Unix socket, and the sidecar token on every call.
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", largest),
                                      ("grpc.max_send_message_length", largest)],
                             interceptors=[RequireSidecarToken(sidecar_token(settings.internal_secret))])
    envoy_grpc.add_services(server, Chain([auth]), endpoints, runtime, settings.internal_secret,
                            attempts=lambda model: Attempt(runtime, cooldowns, provider_keys, model))
    server.add_insecure_port(prepare_socket(socket))
    await server.start()
    restrict_socket(socket)
    ops = await serve_ops(settings.bind_address, metrics_port, dependency_checks(engine, redis))
    loops = [asyncio.create_task(store.follow_changes()), asyncio.create_task(runtime.watch()),
             asyncio.create_task(sink.replay_forever())]
    # One reader of Envoy's access log per Envoy: sidecar 0 (plugins.delivery_reconciler says why).
    reconciler = reconciler_for(settings, engine, settle_counters(quotas, spend)) if index == 0 else None
    if reconciler is not None:
        loops.append(asyncio.create_task(reconciler.run()))
    log.info("sidecar listening on %s (ops endpoints on %s:%d)", socket, settings.bind_address, metrics_port)
    try:
        await until_terminated()
    finally:
        for task in loops:
            task.cancel()
        await server.stop(grace=STOP_GRACE_SECONDS)  # requests in flight finish, and are metered
        await envoy_grpc.completions_finished(STOP_GRACE_SECONDS)  # before Redis and the database close
        await ops.cleanup()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
