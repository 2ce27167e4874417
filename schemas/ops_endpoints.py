"""The operations endpoints every component serves on its own port: /metrics, /healthz and /readyz.

Kept off the API ports so Envoy never exposes them to clients. /healthz is liveness (the process
and its event loop answer); /readyz is readiness (its dependencies answer too, see
schemas.readiness). The readiness checks also run every few seconds in the background, so
`clew_dependency_up` stays current for alerts even when nothing probes.
"""
import asyncio
import contextlib

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

DEPENDENCY_UP = Gauge("clew_dependency_up", "1 when the dependency answered the last readiness check, else 0",
                      ["dependency"])
REFRESH_SECONDS = 5.0
READINESS = web.AppKey("readiness", object)


async def _metrics(_request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _run_checks(readiness) -> dict[str, str]:
    checks = await readiness()
    for name, result in checks.items():
        DEPENDENCY_UP.labels(name).set(1 if result == "ok" else 0)
    return checks


async def _ready(request: web.Request) -> web.Response:
    readiness = request.app[READINESS]
    checks = await _run_checks(readiness) if readiness else {}
    ready = all(result == "ok" for result in checks.values())
    return web.json_response({"status": "ready" if ready else "not ready", "checks": checks},
                             status=200 if ready else 503)


async def _refresh(app: web.Application):
    async def loop():
        while True:
            with contextlib.suppress(Exception):
                await _run_checks(app[READINESS])
            await asyncio.sleep(REFRESH_SECONDS)
    task = asyncio.create_task(loop()) if app[READINESS] else None
    yield
    if task is not None:
        task.cancel()


def ops_app(readiness=None) -> web.Application:
    """`readiness`: an async callable returning {dependency: "ok" | why not}; None means always ready."""
    app = web.Application()
    app[READINESS] = readiness
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _health)
    app.router.add_get("/readyz", _ready)
    app.cleanup_ctx.append(_refresh)
    return app


async def serve_ops(host: str, port: int, readiness=None) -> web.AppRunner:
    runner = web.AppRunner(ops_app(readiness), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
