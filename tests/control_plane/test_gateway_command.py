"""`clew gateway`, the gateway pod's Python half in containers: Envoy's files, the copy of gateway.yaml
the sidecars follow, and the sidecar processes, without Envoy or the control plane."""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.ports import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[2]
CLEW = str(Path(sys.executable).with_name("clew"))
READY = "Clew Gateway's sidecar processes are ready"


@pytest.fixture(scope="module")
def pod(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gateway-pod")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEW_")}
    env.update(CLEW_HOME=str(tmp_path), CLEW_CONFIG=str(ROOT / "gateway.yaml"), CLEW_JWT_SECRET="j" * 32,
               CLEW_INTERNAL_SECRET="i" * 32, CLEW_SIDECAR_METRICS_PORT=str(free_port_block(2)),
               CLEW_ENVOY_OPS_PORT=str(free_port()), CLEW_CONTROL_PLANE_HOST="control-plane.internal")
    subprocess.run([CLEW, "migrate"], env=env, check=True, capture_output=True, cwd=tmp_path)
    log = tmp_path / "gateway.log"
    with log.open("w") as out:
        process = subprocess.Popen([CLEW, "gateway"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while READY not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield tmp_path, env, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)


def test_renders_envoy_files_and_publishes_the_config_the_sidecars_follow(pod):
    home, env, _ = pod
    bootstrap = (home / "envoy" / "bootstrap.yaml").read_text()
    assert f"port_value: {env['CLEW_ENVOY_OPS_PORT']}" in bootstrap  # the ops listener for probes
    assert "control-plane.internal" in (home / "envoy" / "cds.yaml").read_text()
    assert (home / "run" / "gateway.yaml").read_bytes() == (ROOT / "gateway.yaml").read_bytes()


def test_runs_one_ready_sidecar_without_redis_and_nothing_else(pod):
    home, env, process = pod
    port = int(env["CLEW_SIDECAR_METRICS_PORT"])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
        assert response.status == 200
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    commands = [Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in children]
    assert len(commands) == 1 and "-m plugins --index 0" in commands[0]
