"""`clew up`: start the processes in order, restart any that dies, stop them in order.

Start: the simulator, the Stripe stand-in, the control plane and the sidecars first; Envoy only once
they answer, so it never takes traffic it cannot serve. Run: a child that exits is started again
after a backoff (0.5 s, doubling to 30 s; back to 0.5 s once it stayed up a minute) while the others
keep serving; each restart is logged and counted (`clew_supervisor_restarts_total`). Stop (Ctrl-C,
SIGTERM): Envoy stops accepting and drains what is in flight, then the sidecars finish metering it,
then the rest.
"""
import asyncio
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from prometheus_client import Counter

from control_plane import envoy_drain
from schemas.ops_endpoints import serve_ops
from schemas.settings import Settings

READY_TIMEOUT = 60
FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS = 0.5, 30.0
STABLE_SECONDS = 60     # a child up this long is healthy again: its next restart waits FIRST_BACKOFF_SECONDS
DEFAULT_METRICS_PORT = 9190  # /metrics with the restart counter, beside the sidecars' 9101...
STOP_WAIT_SECONDS = 10  # per stage, after SIGTERM, before SIGKILL
# Envoy's own log lines as JSON like ours, and its access log flushed every second (default: 10 s).
ENVOY_LOG_OPTIONS = ("--log-format", '{"time":"%Y-%m-%dT%T.%eZ","level":"%l","component":"envoy","logger":"%n",'
                     '"message":"%j"}', "--file-flush-interval-msec", "1000")
RESTARTS = Counter("clew_supervisor_restarts_total", "Child processes restarted after they exited", ["child"])


@dataclass
class Child:
    name: str
    argv: list[str]
    ready_url: str
    process: asyncio.subprocess.Process | None = None
    role: str = ""  # what `clew gateway` selects: "control-plane", "sidecar", "envoy", ...
    env: dict = field(default_factory=dict)  # on top of the supervisor's environment
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF_SECONDS

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, env: dict) -> None:
        self.process = await asyncio.create_subprocess_exec(*self.argv, env={**env, **self.env})
        self.started_at = time.monotonic()

    def next_backoff(self) -> float:
        """How long to wait before starting this child again."""
        if time.monotonic() - self.started_at >= STABLE_SECONDS:
            self.backoff = FIRST_BACKOFF_SECONDS
        delay, self.backoff = self.backoff, min(self.backoff * 2, MAX_BACKOFF_SECONDS)
        return delay


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
                                              "--webhook-url", webhook, "--gateway-config",
                                              str(settings.config_path)],
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


async def _start_ready(procs: list[Child], env: dict) -> None:
    for child in procs:
        await child.start(env)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        await asyncio.wait_for(asyncio.gather(*(_wait_ready(session, c) for c in procs)), READY_TIMEOUT)


async def _start_all(procs: list[Child], env: dict) -> None:
    """Everything Envoy sends traffic to is ready before Envoy starts."""
    await _start_ready([c for c in procs if c.role != "envoy"], env)
    await _start_ready([c for c in procs if c.role == "envoy"], env)


async def _until(stop: asyncio.Event, work) -> bool:
    """Run `work`; True once it is done, False if asked to stop first (Ctrl-C while starting)."""
    task, stopping = asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())
    await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        stopping.cancel()
        task.result()  # raises if a child died or the wait timed out
        return True
    task.cancel()
    return False


async def _terminate(procs: list[Child]) -> None:
    running = [c.process for c in procs if c.running]
    for process in running:
        process.terminate()
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), STOP_WAIT_SECONDS)
    except TimeoutError:
        for process in running:
            if process.returncode is None:
                process.kill()
        await asyncio.gather(*(p.wait() for p in running))


async def stop_in_order(procs: list[Child], admin_port: int) -> None:
    envoy = [c for c in procs if c.role == "envoy"]
    if any(c.running for c in envoy):
        await envoy_drain.drain(admin_port)
    for stage in (envoy, [c for c in procs if c.role == "sidecar"], procs):
        await _terminate(stage)


async def _keep_alive(child: Child, env: dict, stop: asyncio.Event) -> None:
    """Restart `child` whenever it exits, until the supervisor stops."""
    while not stop.is_set():
        status = await child.process.wait()
        if stop.is_set():
            return
        delay = child.next_backoff()
        RESTARTS.labels(child.name).inc()
        print(f"{child.name} exited with status {status}; restarting it in {delay:g}s", file=sys.stderr, flush=True)
        if await _until(stop, asyncio.sleep(delay)):
            await child.start(env)


def _ready_line(settings: Settings, roles) -> str:
    if roles is None:
        return (f"Clew Gateway is ready: http://127.0.0.1:{settings.http_port} "
                f"and https://127.0.0.1:{settings.https_port} (Ctrl-C stops it)")
    return f"Clew Gateway's {', '.join(sorted(roles))} processes are ready"


async def _serve_until_stopped(procs: list[Child], env: dict, stop: asyncio.Event, on_tick) -> None:
    keepers = [asyncio.ensure_future(_keep_alive(c, env, stop)) for c in procs]
    while not stop.is_set():
        await _until(stop, asyncio.sleep(1))
        if on_tick is not None and not stop.is_set():
            on_tick()
    for keeper in keepers:  # the stop in order waits for the processes themselves
        keeper.cancel()


async def supervise(settings: Settings, bootstrap: Path, env: dict, simulator_port: int | None,
                    on_tick=None, stripe_standin_port: int | None = None, roles=None,
                    published: Path | None = None) -> int:
    """Run every child until Ctrl-C or SIGTERM; `on_tick` runs every second meanwhile."""
    procs = children(settings, bootstrap, simulator_port, stripe_standin_port, roles=roles, published=published)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    metrics_port = int(env.get("CLEW_SUPERVISOR_METRICS_PORT") or DEFAULT_METRICS_PORT)
    ops = await serve_ops(settings.bind_address, metrics_port)
    try:
        if not await _until(stop, _start_all(procs, env)):
            return 0
        print(_ready_line(settings, roles), flush=True)
        await _serve_until_stopped(procs, env, stop, on_tick)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"could not start the gateway: {exc}", file=sys.stderr)
        return 1
    finally:
        await stop_in_order(procs, settings.admin_port)
        await ops.cleanup()
