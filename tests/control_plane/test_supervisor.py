"""`clew up` supervises every process: one ready line, and nothing left behind when it stops."""
import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.stack import Backend, start_gateway

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


@pytest.fixture
def stack(tmp_path):
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


def test_sigint_stops_every_process(stack):
    children = _descendants(stack.process.pid)
    os.kill(stack.process.pid, signal.SIGINT)  # what Ctrl-C sends
    assert stack.process.wait(20) == 0
    assert not [pid for pid in children if _alive(pid)]


def test_a_dying_child_stops_everything(stack):
    children = _descendants(stack.process.pid)
    control_plane = next(pid for pid in children
                         if _module(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")) == "control_plane")
    os.kill(control_plane, signal.SIGKILL)
    assert stack.process.wait(20) == 1
    deadline = time.monotonic() + 10
    while [pid for pid in children if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)]
    assert "control-plane exited" in stack.log()
