"""Only Envoy can talk to the sidecar, which holds the pool's provider keys and decrypts accounts' own.

An attacker is anyone else: a client on the network (the sidecar has no TCP port but its ops port), a
local user other than the gateway's (the socket's directory keeps them out), or a process that reaches
the socket without Envoy's sidecar token (every call is refused before a service reads it). The control
case proves the refusal is what stops the attack: with the token, the same call hands out the key.
"""
import asyncio
import base64
import contextlib
import json
import os
import socket
import uuid
from pathlib import Path

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2 as authz
from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc
from envoy.service.ext_proc.v3 import external_processor_pb2 as ext_proc
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as ext_proc_grpc
from google.protobuf import json_format, struct_pb2, text_format

from schemas import internal_api
from schemas.upstreams import SIMULATED_KEY
from tests.e2e.chat import HELLO
from tests.support.api import call, create_key, new_account

ROUTER_CANDIDATE = ("groq/llama-3.1-8b", "groq")  # clew/free's first candidate, and its provider
NOBODY = 65534


def _socket(gateway, index: int = 0) -> Path:
    return internal_api.sidecar_socket(gateway.home, index)


def _token(gateway) -> str:
    return internal_api.sidecar_token(gateway.secrets["CLEW_INTERNAL_SECRET"].encode())


def _headers(values: dict[str, str]) -> ext_proc.HttpHeaders:
    return ext_proc.HttpHeaders(headers=base_pb2.HeaderMap(headers=[
        base_pb2.HeaderValue(key=k, raw_value=v.encode()) for k, v in values.items()]))


def _upstream_attempt(account_id: str) -> ext_proc.ProcessingRequest:
    """What the routers' upstream filter sends for an attempt on a candidate: the account whose keys
    it may use, and the candidate's endpoint metadata."""
    metadata = base_pb2.Metadata()
    metadata.filter_metadata["clew"].update({"model": ROUTER_CANDIDATE[0]})
    attributes = struct_pb2.Struct()
    attributes.update({"xds.upstream_host_metadata": text_format.MessageToString(metadata)})
    message = ext_proc.ProcessingRequest(request_headers=_headers({
        ":method": "POST", ":path": "/v1/chat/completions", "x-clew-account": account_id}))
    message.attributes["envoy.filters.http.ext_proc"].CopyFrom(attributes)
    return message


async def _process(gateway, messages: list, metadata: list[tuple[str, str]]) -> list[dict]:
    """The sidecar's reply to each of `messages` on one ext_proc stream, which is then cancelled, as
    Envoy would at the end of a request."""
    async with grpc.aio.insecure_channel(f"unix:{_socket(gateway)}") as channel:
        call = ext_proc_grpc.ExternalProcessorStub(channel).Process(metadata=metadata, timeout=5)
        replies = []
        for message in messages:
            await call.write(message)
            replies.append(json_format.MessageToDict(await call.read()))
        call.cancel()
        return replies


async def _attack(gateway, messages: list, metadata: list[tuple[str, str]]) -> tuple[grpc.StatusCode, list[dict]]:
    """Open an ext_proc stream and try to send `messages`: how the stream ended, and any replies.

    A refused stream ends as soon as it opens, before the sidecar reads any message; the client's
    writes then fail on their own (so their errors are not the status), and reads find nothing."""
    async with grpc.aio.insecure_channel(f"unix:{_socket(gateway)}") as channel:
        call = ext_proc_grpc.ExternalProcessorStub(channel).Process(metadata=metadata, timeout=5)
        status = await call.code()  # a stream that was not refused waits for messages: DEADLINE_EXCEEDED
        replies = []
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
            for message in messages:
                await call.write(message)
                replies.append(await call.read())
        return status, [json_format.MessageToDict(r) for r in replies if r is not grpc.aio.EOF]


@pytest.fixture
async def victim(client, gateway):
    """An account with its own groq key stored (BYOK), and that key."""
    account = await new_account(client, gateway.url, "victim")
    own = f"sk-victim-{uuid.uuid4().hex}"
    status, body, _ = await call(client, "POST", f"{gateway.url}/v1/provider-keys",
                                 json={"provider": ROUTER_CANDIDATE[1], "key": own}, headers=account.bearer)
    assert status == 201, body
    return account, own


@pytest.mark.parametrize("metadata", [[], [("x-clew-sidecar-token", "0" * 64)], [("x-clew-sidecar-token", "")]],
                         ids=["no token", "wrong token", "empty token"])
async def test_an_upstream_phase_call_without_envoys_token_is_refused_and_gets_no_key(gateway, victim, metadata):
    account, own = victim
    status, replies = await _attack(gateway, [_upstream_attempt(account.id)],
                                    [("x-clew-phase", "upstream"), *metadata])
    assert (status, replies) == (grpc.StatusCode.UNAUTHENTICATED, [])


async def test_with_envoys_token_the_same_upstream_call_is_answered_with_the_accounts_key(gateway, victim):
    """The control case: the token, and only the token, is what the attack above lacked."""
    account, own = victim
    [reply] = await _process(gateway, [_upstream_attempt(account.id)],
                             [("x-clew-phase", "upstream"), ("x-clew-sidecar-token", _token(gateway))])
    set_headers = reply["requestHeaders"]["response"]["headerMutation"]["setHeaders"]
    assert {"key": "authorization", "rawValue": _b64(f"Bearer {own}")} in [h["header"] for h in set_headers]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()  # how MessageToDict shows bytes


async def test_a_chat_stream_without_envoys_token_is_refused_before_the_pool_key_is_chosen(client, gateway):
    account = await new_account(client, gateway.url)
    key = (await create_key(client, gateway.url, account))["key"]
    body = ext_proc.ProcessingRequest(request_body=ext_proc.HttpBody(
        body=json.dumps({"model": "deepseek-v4", "messages": HELLO}).encode(), end_of_stream=True))
    headers = ext_proc.ProcessingRequest(request_headers=_headers({
        ":method": "POST", ":path": "/v1/chat/completions", "x-api-key": key, "content-type": "application/json"}))
    assert await _attack(gateway, [headers, body], []) == (grpc.StatusCode.UNAUTHENTICATED, [])


async def test_an_ext_authz_check_without_envoys_token_is_refused(gateway):
    check = authz.CheckRequest()
    check.attributes.request.http.method, check.attributes.request.http.path = "GET", "/v1/auth/me"
    async with grpc.aio.insecure_channel(f"unix:{_socket(gateway)}") as channel:
        stub = authz_grpc.AuthorizationStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Check(check, timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # The control case: with the token the check runs, and denies a caller without credentials.
        answer = await stub.Check(check, metadata=[("x-clew-sidecar-token", _token(gateway))], timeout=5)
        assert answer.denied_response.status.code == 401


def _listening_tcp_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on (IPv4 and IPv6)."""
    inodes = {os.readlink(fd)[8:-1] for fd in Path(f"/proc/{pid}/fd").iterdir()
              if os.readlink(fd).startswith("socket:[")}
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _sidecar_pids(gateway) -> list[int]:
    pid = gateway.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"-m\0plugins\0" in Path(f"/proc/{c}/cmdline").read_bytes()]


async def test_the_sidecar_listens_on_no_tcp_port_but_its_ops_port(gateway):
    ops = {int(gateway.env["CLEW_SIDECAR_METRICS_PORT"]) + i for i in range(gateway.sidecar_processes)}
    pids = _sidecar_pids(gateway)
    assert len(pids) == gateway.sidecar_processes
    assert set().union(*(_listening_tcp_ports(pid) for pid in pids)) == ops


async def test_the_sidecar_sockets_are_private_to_the_gateways_user(gateway):
    directory = _socket(gateway).parent
    assert directory.stat().st_mode & 0o777 == 0o700
    for index in range(gateway.sidecar_processes):
        path = _socket(gateway, index)
        assert path.is_socket() and path.stat().st_mode & 0o777 == 0o600
        assert path.stat().st_uid == os.getuid()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to become another user")
async def test_another_local_user_cannot_connect_to_the_sidecar_socket(gateway):
    path = str(_socket(gateway))
    child = os.fork()
    if child == 0:  # the other user: exit 0 only if the connection is refused for lack of permission
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            socket.socket(socket.AF_UNIX).connect(path)
        except PermissionError:
            code = 0
        except BaseException:  # noqa: BLE001 - anything else is a failure, reported by the exit code
            code = 2
        os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    socket.socket(socket.AF_UNIX).connect(path)  # the gateway's own user can: Envoy runs as it


async def test_the_ops_endpoints_show_no_secret_token_or_key(client, gateway, victim):
    _, own = victim
    secrets = gateway.secrets
    hidden = [secrets["CLEW_INTERNAL_SECRET"], secrets["CLEW_JWT_SECRET"], secrets["CLEW_BYOK_KEY"], own,
              SIMULATED_KEY, _token(gateway), internal_api.route_token(secrets["CLEW_INTERNAL_SECRET"].encode())]
    for index in range(gateway.sidecar_processes):
        port = int(gateway.env["CLEW_SIDECAR_METRICS_PORT"]) + index
        for path in ("/metrics", "/healthz", "/readyz"):
            async with client.get(f"http://127.0.0.1:{port}{path}") as response:
                text = await response.text()
            assert response.status == 200 and not [s for s in hidden if s in text], path
