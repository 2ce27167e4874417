"""Logs operators can use: one request followed across Envoy, the sidecar and the control plane by
its x-request-id, and no secret anywhere in them after a full run."""
import asyncio
import json
import re
import uuid

from schemas.upstreams import SIMULATED_KEY
from tests.e2e.chat import chat, stream_events
from tests.support.api import Account, call, create_key, login, unique_email


def _json_lines(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return found


def _access_log(gateway) -> list[dict]:
    path = gateway.home / "log" / "envoy-access.log"
    return _json_lines(path.read_text()) if path.exists() else []


def _component_lines(gateway, request_id: str) -> dict[str, dict]:
    """Our components' log lines for one request, by component ("sidecar-1" counts as "sidecar")."""
    lines = [line for line in _json_lines(gateway.log()) if line.get("request_id") == request_id]
    return {re.sub(r"-\d+$", "", line["component"]): line for line in lines}


async def _traced(gateway, request_id: str, components: set) -> tuple[dict, dict]:
    """The access-log line and our components' lines, once all are written (Envoy flushes each second)."""
    for _ in range(50):
        envoy = [line for line in _access_log(gateway) if line["request_id"] == request_id]
        ours = _component_lines(gateway, request_id)
        if envoy and components <= ours.keys():
            return envoy[0], ours
        await asyncio.sleep(0.1)
    raise AssertionError(f"request {request_id} not in every log: envoy={envoy}, ours={sorted(ours)}")


async def _account(client, gateway, password: str):
    email = unique_email("logs")
    status, body, _ = await call(client, "POST", f"{gateway.url}/v1/auth/signup",
                                 json={"email": email, "password": password})
    assert status == 201, body
    return email, await login(client, gateway.url, email, password)


async def test_the_access_log_keeps_no_address_of_anonymous_telemetry_clients(client, ops_gateway):
    ping = {"instance_id": str(uuid.uuid4()), "version": "0.3.0", "os": "linux", "arch": "x64"}
    _, _, telemetry = await call(client, "POST", f"{ops_gateway.url}/v1/telemetry/ping", json=ping)
    _, _, models = await call(client, "GET", f"{ops_gateway.url}/v1/models")
    anonymous, _ = await _traced(ops_gateway, telemetry["x-request-id"], set())
    named, _ = await _traced(ops_gateway, models["x-request-id"], set())
    assert "client" not in anonymous and anonymous["path"] == "/v1/telemetry/ping"
    assert named["client"] == "127.0.0.1"
    assert len([line for line in _access_log(ops_gateway) if line["request_id"] == telemetry["x-request-id"]]) == 1


async def test_a_management_request_is_followed_through_envoy_the_sidecar_and_the_control_plane(client, ops_gateway):
    _, token = await _account(client, ops_gateway, f"pw-{uuid.uuid4().hex}")
    status, _, headers = await call(client, "GET", f"{ops_gateway.url}/v1/keys",
                                    headers={"Authorization": f"Bearer {token}"})
    request_id = headers["x-request-id"]
    envoy, ours = await _traced(ops_gateway, request_id, {"sidecar", "control-plane"})
    assert (envoy["path"], envoy["status"], envoy["upstream_cluster"]) == ("/v1/keys", status, "control_plane")
    assert (ours["sidecar"]["event"], ours["sidecar"]["result"]) == ("auth_check", "allowed")
    assert (ours["control-plane"]["event"], ours["control-plane"]["status"]) == ("http_request", status)


async def test_an_ai_request_is_followed_through_envoy_and_the_sidecar(client, ops_gateway):
    _, token = await _account(client, ops_gateway, f"pw-{uuid.uuid4().hex}")
    status, _, headers = await chat(client, ops_gateway.url, {"Authorization": f"Bearer {token}"}, model="deepseek-v4")
    request_id = headers["x-request-id"]
    envoy, ours = await _traced(ops_gateway, request_id, {"sidecar"})
    assert (envoy["status"], envoy["upstream_cluster"], envoy["tier"]) == (200, "provider_deepseek", "free")
    line = ours["sidecar"]
    assert (line["event"], line["model"], line["provider"], line["status"]) == (
        "ai_request", "deepseek-v4", "deepseek", 200)


async def _reset_token(gateway, email: str) -> str:
    for _ in range(50):  # the mail leaves in the background; the outbox is a mailbox, not a log
        if gateway.outbox.exists():
            for line in reversed(gateway.outbox.read_text().splitlines()):
                mail = json.loads(line)
                if mail["to"] == email:
                    return re.search(r"token=([\w-]+)", mail["body"]).group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no reset mail for {email}")


async def _full_run(client, gateway) -> dict[str, str]:
    """Sign up, log in, make a key, use both credentials, reset the password; returns every secret seen."""
    password, new_password = f"pw-{uuid.uuid4().hex}", f"pw-{uuid.uuid4().hex}"
    email, token = await _account(client, gateway, password)
    bearer = {"Authorization": f"Bearer {token}"}
    key = (await create_key(client, gateway.url, Account("", email, password, token), "logs"))["key"]
    assert (await chat(client, gateway.url, {"X-API-Key": key}, model="deepseek-v4"))[0] == 200
    assert (await stream_events(client, gateway.url, bearer, model="gpt-5.5"))[0] == 200
    await call(client, "GET", f"{gateway.url}/v1/auth/me?api_key={key}", headers={"X-API-Key": key})
    await call(client, "POST", f"{gateway.url}/v1/auth/login", json={"email": email, "password": new_password})
    await call(client, "POST", f"{gateway.url}/v1/auth/forgot", json={"email": email})
    reset = await _reset_token(gateway, email)
    status, _, _ = await call(client, "POST", f"{gateway.url}/v1/auth/reset",
                              json={"token": reset, "password": new_password})
    assert status == 200
    new_token = await login(client, gateway.url, email, new_password)
    secrets = gateway.secrets
    return {"password": password, "new password": new_password, "session token": token, "new session token": new_token,
            "api key": key, "reset token": reset, "jwt secret": secrets["CLEW_JWT_SECRET"],
            "internal secret": secrets["CLEW_INTERNAL_SECRET"], "provider pool key": SIMULATED_KEY}


async def test_no_secret_appears_in_any_log_after_a_full_run(client, ops_gateway):
    secrets = await _full_run(client, ops_gateway)
    await asyncio.sleep(1.5)  # Envoy flushes its access log every second
    logs = sorted(ops_gateway.home.rglob("*.log"))
    assert {p.name for p in logs} >= {"clew-up.log", "envoy-access.log"}  # stdout and stderr of every process
    leaks = [f"{name} in {path.name}" for path in logs for name, secret in secrets.items()
             if secret in path.read_text(errors="replace")]
    assert leaks == []
