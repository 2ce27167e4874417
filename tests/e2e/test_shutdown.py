"""SIGTERM (a Kubernetes rollout, `clew up` stopping) lets each of our processes clean up and exit 0.

Without a handler Python dies at once on SIGTERM, skipping the cleanup that lands queued usage and
stops the webhook workers; its exit status would then be -15.
"""
import os
import signal

import pytest

from tests.support.stack import EMBEDDED, start_gateway


@pytest.mark.parametrize("module, name", [("control_plane", "control-plane"), ("plugins", "sidecar-0")])
def test_a_process_told_to_terminate_cleans_up_and_exits_0(tmp_path, module, name):
    gateway = start_gateway(EMBEDDED, tmp_path)
    try:
        os.kill(gateway.child_pid(module), signal.SIGTERM)
        gateway.process.wait(20)  # clew up stops the rest when one of its processes ends
    finally:
        gateway.stop()
    assert f"{name} exited with status 0" in gateway.log(), gateway.log()[-2000:]
