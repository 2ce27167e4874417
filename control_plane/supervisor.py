"""`clew up`: start the control plane, the sidecars and Envoy, wait until all answer, stop all together."""
import asyncio
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from schemas.settings import Settings

READY_TIMEOUT = 60
# Envoy's own log lines as JSON like ours, and its access log flushed every second (default: 10 s).
ENVOY_LOG_OPTIONS = ("--log-format", '{"time":"%Y-%m-%dT%T.%eZ","level":"%l","component":"envoy","logger":"%n",'
                     '"message":"%j"}', "--file-flush-interval-msec", "1000")


@dataclass
class Child:
    name: str
    argv: list[str]
    ready_url: str
    process: asyncio.subprocess.Process | None = None
    role: str = ""  # what `clew gateway` selects: "control-plane", "sidecar", "envoy", ...
    env: dict = field(default_factory=dict)  # on top of the supervisor's environment


def envoy_binary() -> str:
    beside = Path(sys.executable).with_name("envoy")
    return str(beside) if beside.exists() else "envoy"


def children(settings: Settings, bootstrap: Path, simulator_port: int | None,
             stripe_standin_port: int | None = None, roles=None, published: Path | None = None) -> list[Child]:
    """All processes, or those of `roles`; sidecars follow `published` (config_watch) when given."""
    ops = f"http://{settings.upstream_host}"
    python = sys.executable
    procs = []
    if simulator_port:
        procs.append(Child("simulator", [python, "-m", "plugins.simulator", "--host", settings.bind_address,
                                         "--port", str(simulator_port)],
                           f"{ops}:{simulator_port}/_sim/health"))
    if stripe_standin_port:
        # Loopback only, whatever CLEW_BIND_ADDRESS says: anyone who reaches it can "pay". Its events
        # go through Envoy, as Stripe's do.
        webhook = f"http://127.0.0.1:{settings.http_port}/v1/billing/webhook"
        procs.append(Child("stripe-standin", [python, "-m", "control_plane.billing.stripe_standin", "--host",
                                              "127.0.0.1", "--port", str(stripe_standin_port),
                                              "--webhook-url", webhook],
                           f"http://127.0.0.1:{stripe_standin_port}/_standin/health"))
    procs += [Child("control-plane", [python, "-m", "control_plane"],
                    f"{ops}:{settings.control_plane_metrics_port}/readyz", role="control-plane")]
    sidecar_env = {"CLEW_CONFIG": str(published)} if published else {}
    procs += [Child(f"sidecar-{i}", [python, "-m", "plugins", "--index", str(i)],
                    f"{ops}:{settings.sidecar_metrics_port + i}/readyz", role="sidecar", env=sidecar_env)
              for i in range(settings.sidecar_processes)]
    procs.append(Child("envoy", [envoy_binary(), "-c", str(bootstrap), "--disable-hot-restart", "--log-level", "warn",
                                 *ENVOY_LOG_OPTIONS],
                       f"http://127.0.0.1:{settings.admin_port}/ready", role="envoy"))
    return [child for child in procs if roles is None or child.role in roles]


async def _wait_ready(session: aiohttp.ClientSession, child: Child) -> None:
    while True:
        if child.process.returncode is not None:
            raise RuntimeError(f"{child.name} exited with status {child.process.returncode} while starting")
        try:
            async with session.get(child.ready_url) as response:
                if response.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):  # a readiness check that times out: not ready yet
            pass
        await asyncio.sleep(0.1)


async def _tick(on_tick) -> None:
    while on_tick is not None:
        await asyncio.sleep(1)
        on_tick()


async def _stop(procs: list[Child]) -> None:
    running = [c.process for c in procs if c.process and c.process.returncode is None]
    for process in running:
        process.terminate()
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), 10)
    except TimeoutError:
        for process in running:
            if process.returncode is None:
                process.kill()


async def _all_ready(procs: list[Child]) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        await asyncio.wait_for(asyncio.gather(*(_wait_ready(session, c) for c in procs)), READY_TIMEOUT)


async def _started(procs: list[Child], stop: asyncio.Event) -> bool:
    """True once every child answers; False if asked to stop first (Ctrl-C while starting)."""
    ready = asyncio.ensure_future(_all_ready(procs))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([ready, stopping], return_when=asyncio.FIRST_COMPLETED)
    if ready.done():
        stopping.cancel()
        ready.result()  # raises if a child died or the wait timed out
        return True
    ready.cancel()
    return False


async def supervise(settings: Settings, bootstrap: Path, env: dict, simulator_port: int | None,
                    on_tick=None, stripe_standin_port: int | None = None, roles=None,
                    published: Path | None = None) -> int:
    """Run every child until Ctrl-C or until one dies; `on_tick` runs every second meanwhile."""
    procs = children(settings, bootstrap, simulator_port, stripe_standin_port, roles=roles, published=published)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for child in procs:
            child.process = await asyncio.create_subprocess_exec(*child.argv, env={**env, **child.env})
        if not await _started(procs, stop):
            return 0
        if roles is None:
            print(f"Clew Gateway is ready: http://127.0.0.1:{settings.http_port} "
                  f"and https://127.0.0.1:{settings.https_port} (Ctrl-C stops it)", flush=True)
        else:
            print(f"Clew Gateway's {', '.join(sorted(roles))} processes are ready", flush=True)
        exited = [asyncio.ensure_future(c.process.wait()) for c in procs]
        stopping = asyncio.ensure_future(stop.wait())
        ticking = asyncio.ensure_future(_tick(on_tick))
        done, _ = await asyncio.wait([stopping, *exited], return_when=asyncio.FIRST_COMPLETED)
        ticking.cancel()
        if stopping in done:
            return 0
        dead = next(c for c in procs if c.process.returncode is not None)
        print(f"{dead.name} exited with status {dead.process.returncode}; stopping everything", file=sys.stderr)
        return 1
    except (RuntimeError, TimeoutError) as exc:
        print(f"could not start the gateway: {exc}", file=sys.stderr)
        return 1
    finally:
        await _stop(procs)
