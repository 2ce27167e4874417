"""`clew up` supervises every process: one ready line, and nothing left behind when it stops.

The tests that look at the processes, or kill one and watch it come back, share one gateway: it heals
after each of them (the tests wait for that). Stopping it, or watching it start, needs one of its own.
"""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.stack import READY_LINE, ROOT, START_TIMEOUT, Backend, gateway_env, start_gateway

EMBEDDED = Backend("embedded", "", "", "", "")


def _descendants(pid: int) -> set[int]:
    found = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found |= {int(child)} | _descendants(int(child))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    gateway = start_gateway(EMBEDDED, tmp_path_factory.mktemp("supervised"))
    yield gateway
    gateway.stop()


@pytest.fixture
def own_stack(tmp_path):
    gateway = start_gateway(EMBEDDED, tmp_path)
    yield gateway
    gateway.stop()


def test_ready_line_names_both_urls(stack):
    assert f"{stack.url} and {stack.https_url}" in stack.log()


def _commands(stack) -> list[str]:
    return [Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in _descendants(stack.process.pid)]


def _module(command: str) -> str:
    """What `python -m X ...` runs: X."""
    words = command.split()
    return words[words.index("-m") + 1] if "-m" in words else ""


def test_runs_envoy_the_simulator_a_sidecar_and_the_control_plane(stack):
    commands = _commands(stack)
    assert sum("-m plugins --index" in c for c in commands) == 1
    assert sum("-m plugins.simulator" in c for c in commands) == 1
    assert sum(_module(c) == "control_plane" for c in commands) == 1
    assert sum("--disable-hot-restart" in c for c in commands) == 1


def test_without_a_stripe_key_runs_the_stripe_standin(stack):
    assert sum(_module(c) == "control_plane.billing.stripe_standin" for c in _commands(stack)) == 1
    assert "billing uses the local Stripe stand-in" in stack.log()


def test_without_redis_two_sidecar_processes_become_one(stack):
    """In-process counters would each allow the full limit: embedded mode runs one sidecar."""
    assert stack.env["CLEW_SIDECAR_PROCESSES"] == "2"
    assert sum("-m plugins --index" in c for c in _commands(stack)) == 1
    assert "running one sidecar process" in stack.log()


def test_sigint_stops_every_process(own_stack):
    children = _descendants(own_stack.process.pid)
    os.kill(own_stack.process.pid, signal.SIGINT)  # what Ctrl-C sends
    assert own_stack.process.wait(20) == 0
    assert not [pid for pid in children if _alive(pid)]


def _pid_of(stack, module: str) -> int | None:
    return next((pid for pid in _descendants(stack.process.pid) if _alive(pid)
                 and _module(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")) == module), None)


def _eventually(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def _answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def _serving(stack) -> None:
    """The shared gateway has healed from the tests before (each restart backs off longer)."""
    assert _eventually(lambda: _answers(f"{stack.url}/v1/models") == 200, START_TIMEOUT)


@pytest.mark.parametrize("module, name", [("control_plane", "control-plane"), ("plugins", "sidecar-0")])
def test_a_killed_child_is_restarted_while_the_others_keep_running(stack, module, name):
    _serving(stack)
    victim = _pid_of(stack, module)
    others = _descendants(stack.process.pid) - {victim}
    restarted = f"{name} exited with status -9; restarting it"
    before = stack.log().count(restarted)  # the gateway is shared: count this kill's line only
    os.kill(victim, signal.SIGKILL)
    assert _eventually(lambda: stack.log().count(restarted) > before), stack.log()[-2000:]
    assert _eventually(lambda: victim not in _descendants(stack.process.pid) and _pid_of(stack, module))
    assert stack.process.poll() is None
    assert all(_alive(pid) for pid in others)
    assert _eventually(lambda: _answers(f"{stack.url}/v1/models") == 200)


def _restarts(stack, child: str) -> float:
    """clew_supervisor_restarts_total of `child` (0 before its first restart: no series yet)."""
    metrics = f"http://127.0.0.1:{stack.env['CLEW_SUPERVISOR_METRICS_PORT']}/metrics"
    with urllib.request.urlopen(metrics, timeout=2) as reply:
        found = re.search(rf'^clew_supervisor_restarts_total\{{child="{child}"\}} (\S+)$', reply.read().decode(),
                          re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_restarts_are_counted_for_prometheus(stack):
    _serving(stack)
    before = _restarts(stack, "control-plane")  # earlier tests may have restarted it on this shared gateway
    os.kill(_pid_of(stack, "control_plane"), signal.SIGKILL)
    assert _eventually(lambda: _restarts(stack, "control-plane") == before + 1)


def test_envoy_takes_no_traffic_before_the_sidecars_are_ready(tmp_path):
    """An AI route answered before the sidecars are up would be a 503; Envoy starts after them."""
    env = gateway_env(EMBEDDED, tmp_path)
    chat = f"http://127.0.0.1:{env['CLEW_HTTP_PORT']}/v1/chat/completions"
    log_path = tmp_path / "clew-up.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([str(Path(sys.executable).with_name("clew")), "up"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    seen = []
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY_LINE not in log_path.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            if (status := _answers(chat)) is not None:
                seen.append(status)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    assert 503 not in seen and 502 not in seen, seen
    assert set(seen) <= {401}  # whatever Envoy answered before the ready line, the sidecar judged it
