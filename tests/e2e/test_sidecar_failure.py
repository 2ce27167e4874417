"""A sidecar that does not answer makes Envoy answer in OpenAI's error shape: 504 when ext_proc times out,
503 when ext_authz does; never a 500."""
import os
import signal

import aiohttp

from tests.e2e.chat import chat
from tests.support.api import call, new_account
from tests.support.stack import EMBEDDED, start_gateway


async def test_a_frozen_sidecar_is_a_504_for_ai_routes_and_a_503_for_management_routes(tmp_path):
    gateway = start_gateway(EMBEDDED, tmp_path)
    try:
        async with aiohttp.ClientSession() as client:
            account = await new_account(client, gateway.url)
            sidecar = gateway.child_pid("plugins")
            os.kill(sidecar, signal.SIGSTOP)  # connections still open, nothing answers: ext_proc times out
            try:
                ai = await chat(client, gateway.url, account.bearer, model="deepseek-v4")
                management = await call(client, "GET", f"{gateway.url}/v1/keys", headers=account.bearer)
            finally:
                os.kill(sidecar, signal.SIGCONT)
    finally:
        gateway.stop()
    assert [ai[0], management[0]] == [504, 503], (ai, management)
    for _, body, _ in (ai, management):
        assert set(body["error"]) == {"message", "type", "param", "code"}, body
