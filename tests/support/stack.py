"""A whole gateway started the way operators start it: `clew up`, on free ports, in a temp home."""
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Clew Gateway is ready"
START_TIMEOUT = 90
START_ATTEMPTS = 3


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    schema: str
    redis_url: str
    redis_prefix: str


EMBEDDED = Backend("embedded", database_url="", schema="", redis_url="", redis_prefix="")


@dataclass
class Gateway:
    backend: Backend
    home: Path
    env: dict
    process: subprocess.Popen
    log_path: Path
    started_in: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['CLEW_HTTP_PORT']}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.env['CLEW_HTTPS_PORT']}"

    @property
    def control_plane_url(self) -> str:
        return f"http://127.0.0.1:{self.env['CLEW_CONTROL_PLANE_PORT']}"

    def metrics_url(self, component: str) -> str:
        port = {"sidecar": "CLEW_SIDECAR_METRICS_PORT", "control_plane": "CLEW_CONTROL_PLANE_METRICS_PORT"}[component]
        return f"http://127.0.0.1:{self.env[port]}/metrics"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.env['CLEW_SIMULATOR_PORT']}"

    @property
    def stripe_url(self) -> str:
        """The Stripe stand-in `clew up` starts when STRIPE_SECRET_KEY is unset (always, in tests)."""
        return f"http://127.0.0.1:{self.env['CLEW_STRIPE_STANDIN_PORT']}"

    @property
    def config_path(self) -> Path:
        return Path(self.env["CLEW_CONFIG"])

    @property
    def sidecar_processes(self) -> int:
        return 2 if self.backend.redis_url else 1  # in-process counters: one process (see clew up)

    @property
    def database_url(self) -> str:
        return self.backend.database_url or f"sqlite+aiosqlite:///{self.home / 'clew.db'}"

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts exactly the self-signed certificate `clew up` generated."""
        return ssl.create_default_context(cafile=str(self.home / "tls" / "cert.pem"))

    @property
    def secrets(self) -> dict:
        return json.loads((self.home / "secrets.json").read_text())

    @property
    def outbox(self) -> Path:
        return self.home / "outbox.jsonl"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child_pid(self, module: str) -> int:
        """The pid of the first process `clew up` runs as `python -m <module>` (plugins, control_plane)."""
        pid = self.process.pid
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            if f"-m\0{module}\0".encode() in Path(f"/proc/{child}/cmdline").read_bytes() + b"\0":
                return int(child)
        raise AssertionError(f"no {module} process among the children of clew up")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# Every test account signs up and logs in: at the default argon2 cost that was most of the control
# plane's time in `make test`. The lowest cost gateway.yaml accepts; the default's own test is unit-level.
TEST_PASSWORD_HASH = "  password_hash: {memory_kib: 19456, time_cost: 2, parallelism: 1}"


def gateway_env(backend: Backend, home: Path, extra_env: dict | None = None) -> dict:
    # A copy of its own, so tests can edit the config of a running gateway.
    config = home / "gateway.yaml"
    config.write_text((ROOT / "gateway.yaml").read_text().replace("\nauth:\n", f"\nauth:\n{TEST_PASSWORD_HASH}\n", 1))
    # Never the developer's own Stripe account: tests get the stand-in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLEW_", "STRIPE_"))}
    env.update({
        "CLEW_HOME": str(home), "CLEW_CONFIG": str(config),
        "CLEW_HTTP_PORT": str(free_port()), "CLEW_HTTPS_PORT": str(free_port()),
        "CLEW_ADMIN_PORT": str(free_port()), "CLEW_CONTROL_PLANE_PORT": str(free_port()),
        "CLEW_CONTROL_PLANE_METRICS_PORT": str(free_port()),
        "CLEW_SIDECAR_METRICS_PORT": str(free_port_block(2)),
        "CLEW_SIDECAR_PROCESSES": "2", "CLEW_SIMULATOR_PORT": str(free_port()),
        "CLEW_STRIPE_STANDIN_PORT": str(free_port()), "CLEW_SUPERVISOR_METRICS_PORT": str(free_port()),
    })
    if backend.database_url:
        env.update({"CLEW_DATABASE_URL": backend.database_url, "CLEW_DATABASE_SCHEMA": backend.schema,
                    "CLEW_REDIS_URL": backend.redis_url, "CLEW_REDIS_PREFIX": backend.redis_prefix})
    env.update(extra_env or {})  # e.g. the benchmark's CLEW_SIMULATOR=off and its own CLEW_CONFIG
    return env


def start_gateway(backend: Backend, home: Path, extra_env: dict | None = None) -> Gateway:
    # A port found free can be taken before our server binds it (another test run on this machine):
    # such a start is tried again on other ports; any other failure is the test's.
    for _ in range(START_ATTEMPTS - 1):
        try:
            return _start(backend, home, extra_env)
        except PortTaken:
            pass
    return _start(backend, home, extra_env)


class PortTaken(RuntimeError):
    pass


def _start(backend: Backend, home: Path, extra_env: dict | None) -> Gateway:
    env = gateway_env(backend, home, extra_env)
    log_path = home / "clew-up.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        process = subprocess.Popen([str(Path(sys.executable).with_name("clew")), "up"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    gateway = Gateway(backend, home, env, process, log_path)
    while READY_LINE not in gateway.log():
        if process.poll() is not None or time.monotonic() - started > START_TIMEOUT:
            gateway.stop()
            failure = PortTaken if "address already in use" in gateway.log().lower() else RuntimeError
            raise failure(f"clew up did not become ready:\n{gateway.log()}")
        time.sleep(0.1)
    gateway.started_in = time.monotonic() - started
    return gateway
