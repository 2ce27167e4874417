"""The rendered Envoy configuration: what it says, that Envoy accepts it, and that a real Envoy behaves."""
import asyncio
import dataclasses
import http.client
import json
import random
import ssl
import stat
import subprocess
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
import pytest
import yaml
from aiohttp import web
from cryptography import x509
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc

from envoy_config import render as envoy_render
from envoy_config.routes import route_table
from envoy_config.tls import ensure_self_signed, resolve_tls_paths
from schemas import internal_api
from schemas.gateway import GatewayConfig
from schemas.settings import Settings
from tests.support.ports import free_port, free_port_block

ENVOY = Path(sys.executable).with_name("envoy")
EXT_AUTHZ = "envoy.filters.http.ext_authz"
EXT_PROC = "envoy.filters.http.ext_proc"
INTERNAL_SECRET = "render-test-internal-secret-0123456789abcdef"


# --- helpers -----------------------------------------------------------------------------------

def make_config(max_body: int = 1048576) -> GatewayConfig:
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "gateway.yaml").read_text())
    raw["limits"] = {"max_request_body_bytes": max_body}
    return GatewayConfig(raw)


def make_settings(home: Path, **env) -> Settings:
    ports = {"CLEW_HTTP_PORT": free_port(), "CLEW_HTTPS_PORT": free_port(), "CLEW_ADMIN_PORT": free_port(),
             "CLEW_CONTROL_PLANE_PORT": free_port(), "CLEW_SIDECAR_METRICS_PORT": free_port_block(2),
             "CLEW_SIDECAR_PROCESSES": 2}
    merged = {"CLEW_HOME": str(home), "CLEW_INTERNAL_SECRET": INTERNAL_SECRET,
              **{k: str(v) for k, v in ports.items()}, **env}
    return Settings.from_env(merged)


def hcm(listener: dict) -> dict:
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def validate(document: dict, path: Path) -> subprocess.CompletedProcess:
    path.write_text(yaml.safe_dump(document))
    return run_validate(path)


def run_validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ENVOY), "--mode", "validate", "-c", str(path)],
                          capture_output=True, text=True, timeout=30)


def first_match(path: str, headers: tuple[str, ...] = ()):
    """The route Envoy would pick for `path` sent with `headers` (prefix and exact semantics, first match wins)."""
    for route in route_table():
        if route.when_header and route.when_header not in headers:
            continue
        if path == route.prefix_or_path if route.exact else path.startswith(route.prefix_or_path):
            return route
    return None


def rendered_routes(config, settings) -> dict:
    rds = envoy_render.render(config, settings)["rds.yaml"]["resources"][0]
    return {r["name"]: r for r in rds["virtual_hosts"][0]["routes"]}


def ext_authz_disabled(route: dict) -> bool:
    return route.get("typed_per_filter_config", {}).get(EXT_AUTHZ, {}).get("disabled", False)


def ext_proc_disabled(route: dict) -> bool:
    return route.get("typed_per_filter_config", {}).get(EXT_PROC, {}).get("disabled", False)


# --- static properties -------------------------------------------------------------------------

def test_static_bootstrap_passes_envoy_validate(tmp_path):
    config, settings = make_config(), make_settings(tmp_path)
    ensure_self_signed(*resolve_tls_paths(config, settings))  # validate mode loads the key pair
    Path(envoy_render.access_log_path(settings)).parent.mkdir(parents=True)  # and opens the access log
    result = validate(envoy_render.render_static(config, settings), tmp_path / "static.yaml")
    assert result.returncode == 0, result.stderr + result.stdout


def test_written_bootstrap_passes_envoy_validate(tmp_path):
    bootstrap = envoy_render.write(make_config(), make_settings(tmp_path))
    result = run_validate(bootstrap)
    assert result.returncode == 0, result.stderr + result.stdout


def test_static_bootstrap_carries_the_same_resources_as_the_watched_files(tmp_path):
    # Validate mode never reads the watched files, so the static twin must be what gets deployed.
    config, settings = make_config(), make_settings(tmp_path)
    dynamic, static = envoy_render.render(config, settings), envoy_render.render_static(config, settings)
    untyped = [{k: v for k, v in r.items() if k != "@type"} for r in dynamic["cds.yaml"]["resources"]]
    assert untyped == static["static_resources"]["clusters"]
    route_config = {k: v for k, v in dynamic["rds.yaml"]["resources"][0].items() if k != "@type"}
    for listener in static["static_resources"]["listeners"]:
        assert hcm(listener)["route_config"] == route_config


def test_admin_binds_loopback_even_when_listening_on_all_interfaces(tmp_path):
    settings = make_settings(tmp_path, CLEW_LISTEN_ADDRESS="0.0.0.0")
    bootstrap = envoy_render.render(make_config(), settings)["bootstrap.yaml"]
    assert bootstrap["admin"]["address"]["socket_address"] == {"address": "127.0.0.1",
                                                               "port_value": settings.admin_port}


def test_listeners_bind_address_and_ports_from_settings(tmp_path):
    settings = make_settings(tmp_path, CLEW_LISTEN_ADDRESS="0.0.0.0")
    listeners = envoy_render.render(make_config(), settings)["lds.yaml"]["resources"]
    addresses = {l["name"]: l["address"]["socket_address"] for l in listeners}
    assert addresses == {"http": {"address": "0.0.0.0", "port_value": settings.http_port},
                         "https": {"address": "0.0.0.0", "port_value": settings.https_port}}


def test_control_plane_cluster_points_at_upstream_host_and_port_from_settings(tmp_path):
    settings = make_settings(tmp_path, CLEW_UPSTREAM_HOST="10.1.2.3")
    clusters = {c["name"]: c for c in envoy_render.render(make_config(), settings)["cds.yaml"]["resources"]}
    lb = clusters["control_plane"]["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert [e["endpoint"]["address"]["socket_address"] for e in lb] == [
        {"address": "10.1.2.3", "port_value": settings.control_plane_port}]


def test_sidecar_cluster_is_the_sidecars_unix_sockets_over_http2_whatever_the_upstream_host(tmp_path):
    settings = make_settings(tmp_path, CLEW_UPSTREAM_HOST="10.1.2.3", CLEW_BIND_ADDRESS="0.0.0.0")
    sidecar = next(c for c in envoy_render.render(make_config(), settings)["cds.yaml"]["resources"]
                   if c["name"] == "sidecar")
    lb = sidecar["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert [e["endpoint"]["address"] for e in lb] == [
        {"pipe": {"path": str(tmp_path / "run" / f"sidecar-{i}.sock")}} for i in range(2)]
    assert sidecar["type"] == "STATIC"
    http2 = sidecar["typed_extension_protocol_options"]
    assert http2["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["explicit_http_config"] == {
        "http2_protocol_options": {}}


def test_upstream_host_name_uses_dns_discovery(tmp_path):
    settings = make_settings(tmp_path, CLEW_UPSTREAM_HOST="control-plane.internal")
    clusters = envoy_render.render(make_config(), settings)["cds.yaml"]["resources"]
    assert next(c for c in clusters if c["name"] == "control_plane")["type"] == "STRICT_DNS"


def test_listener_buffer_limit_exceeds_max_request_body(tmp_path):
    listeners = envoy_render.render(make_config(max_body=5_000_000), make_settings(tmp_path))["lds.yaml"]
    assert all(l["per_connection_buffer_limit_bytes"] > 5_000_000 for l in listeners["resources"])


def test_client_clew_headers_are_removed_before_route_selection(tmp_path):
    for listener in envoy_render.render(make_config(), make_settings(tmp_path))["lds.yaml"]["resources"]:
        [early] = hcm(listener)["early_header_mutation_extensions"]
        assert early["name"] == "envoy.http.early_header_mutation.header_mutation"
        assert early["typed_config"]["mutations"] == [{"remove_on_match": {"key_matcher": {"prefix": "x-clew-"}}}]
        filters = hcm(listener)["http_filters"]
        assert [f["name"] for f in filters] == [EXT_AUTHZ, EXT_PROC, "envoy.filters.http.router"]


@pytest.mark.parametrize("path", ["/v1/auth/me", "/v1/keys", "/v1/keys/key_123", "/v1/usage", "/v1/usage/daily",
                                  "/v1/requests", "/v1/billing/checkout", "/v1/billing/invoices",
                                  "/v1/billing/spend_cap", "/v1/webhooks", "/v1/webhooks/wh_1", "/v1/telemetry/stats",
                                  "/v1/provider-keys"])
def test_management_routes_have_ext_authz_enabled(tmp_path, path):
    route = first_match(path)
    assert route.kind == "management"
    assert not ext_authz_disabled(rendered_routes(make_config(), make_settings(tmp_path))[route.prefix_or_path])


@pytest.mark.parametrize("path", ["/v1/auth/signup", "/v1/auth/login", "/v1/auth/forgot", "/v1/auth/reset",
                                  "/v1/models", "/v1/plugins/x", "/v1/updates/check", "/v1/telemetry/ping",
                                  "/v1/billing/webhook", "/no/such/route"])
def test_public_routes_have_ext_authz_disabled(tmp_path, path):
    route = first_match(path)
    assert route.kind == "public"
    assert ext_authz_disabled(rendered_routes(make_config(), make_settings(tmp_path))[route.prefix_or_path])


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_the_model_list_with_credentials_is_authenticated(tmp_path, header):
    route = first_match("/v1/models", (header,))
    assert route.kind == "management" and route.when_header == header
    rendered = rendered_routes(make_config(), make_settings(tmp_path))[f"/v1/models with {header}"]
    assert not ext_authz_disabled(rendered)
    assert rendered["match"]["headers"] == [{"name": header, "present_match": True}]


def test_management_and_public_routes_have_ext_proc_disabled(tmp_path):
    routes = rendered_routes(make_config(), make_settings(tmp_path))
    assert ext_proc_disabled(routes["/v1/keys"]) and ext_proc_disabled(routes["/"])


def test_chat_route_runs_ext_proc_and_not_ext_authz(tmp_path):
    route = rendered_routes(make_config(), make_settings(tmp_path))["/v1/chat/completions"]
    assert not ext_proc_disabled(route) and ext_authz_disabled(route)
    assert "headers" not in route["match"]  # the first match, before the sidecar names a provider


@pytest.mark.parametrize("path", ["/v1/images/generations", "/v1/video/generations"])
def test_image_and_video_routes_run_ext_proc_and_not_ext_authz(tmp_path, path):
    route = rendered_routes(make_config(), make_settings(tmp_path))[path]
    assert route["match"] == {"path": path}
    assert not ext_proc_disabled(route) and ext_authz_disabled(route)


@pytest.mark.parametrize("path", ["/v1/video/generations/vid_1", "/v1/video/generations/vid_1/content"])
def test_video_jobs_land_on_the_ai_prefix_route(tmp_path, path):
    route = first_match(path)
    assert (route.kind, route.exact, route.prefix_or_path) == ("ai", False, "/v1/video/generations/")
    rendered = rendered_routes(make_config(), make_settings(tmp_path))["/v1/video/generations/"]
    assert rendered["match"] == {"prefix": "/v1/video/generations/"} and not ext_proc_disabled(rendered)


def test_paths_that_only_start_like_the_media_routes_stay_public():
    assert first_match("/v1/video/generationsX").kind == "public"
    assert first_match("/v1/images/generations/x").kind == "public"


def test_each_provider_has_a_route_chosen_by_the_sidecars_header_and_route_token(tmp_path):
    routes = rendered_routes(make_config(), make_settings(tmp_path))
    groq = routes["provider:groq"]
    token = internal_api.route_token(INTERNAL_SECRET.encode())
    assert groq["match"] == {"prefix": "/", "headers": [
        {"name": "x-clew-provider", "string_match": {"exact": "groq"}},
        {"name": "x-clew-route", "string_match": {"exact": token}}]}
    assert groq["route"]["cluster"] == "provider_groq"
    assert groq["route"]["host_rewrite_literal"] == "api.groq.com"
    assert groq["request_headers_to_remove"] == ["x-clew-provider", "x-clew-route"]
    assert not ext_proc_disabled(groq) and ext_authz_disabled(groq)


def test_provider_with_pool_key_is_reached_over_verified_tls(tmp_path):
    cds = envoy_render.render(make_config(), make_settings(tmp_path), {"OPENAI_API_KEY": "sk-x"})["cds.yaml"]
    openai = next(c for c in cds["resources"] if c["name"] == "provider_openai")
    tls = openai["transport_socket"]["typed_config"]
    assert tls["sni"] == "api.openai.com"
    assert tls["common_tls_context"]["validation_context"]["trusted_ca"]["filename"]


def test_provider_without_key_goes_to_the_simulator(tmp_path):
    env = {"CLEW_SIMULATOR_URL": "http://127.0.0.1:9200"}
    rendered = envoy_render.render(make_config(), make_settings(tmp_path), env)
    groq = next(c for c in rendered["cds.yaml"]["resources"] if c["name"] == "provider_groq")
    assert groq["load_assignment"]["cluster_name"] == "provider_groq" and "transport_socket" not in groq
    route = {r["name"]: r for r in rendered["rds.yaml"]["resources"][0]["virtual_hosts"][0]["routes"]}
    assert route["provider:groq"]["route"]["host_rewrite_literal"] == "127.0.0.1:9200"


def test_tls_pair_is_generated_when_missing(tmp_path):
    cert_path, key_path = tmp_path / "a" / "cert.pem", tmp_path / "b" / "key.pem"
    assert ensure_self_signed(cert_path, key_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_tls_pair_is_not_regenerated_when_present(tmp_path):
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    ensure_self_signed(cert_path, key_path)
    before = cert_path.read_bytes(), key_path.read_bytes()
    assert not ensure_self_signed(cert_path, key_path)
    assert (cert_path.read_bytes(), key_path.read_bytes()) == before


def test_an_older_readable_tls_key_is_made_private(tmp_path):
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    ensure_self_signed(cert_path, key_path)
    key_path.chmod(0o644)
    ensure_self_signed(cert_path, key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_relative_tls_paths_resolve_under_home(tmp_path):
    assert resolve_tls_paths(make_config(), make_settings(tmp_path)) == (
        tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem")


def test_write_leaves_only_final_files_in_watched_directory(tmp_path):
    settings = make_settings(tmp_path)
    envoy_render.write(make_config(), settings)
    envoy_render.write(make_config(), settings)
    watched = tmp_path / "envoy"
    assert sorted(p.name for p in watched.iterdir()) == ["bootstrap.yaml", "cds.yaml", "lds.yaml", "rds.yaml"]
    assert (yaml.safe_load((watched / "cds.yaml").read_text())
            == envoy_render.render(make_config(), settings)["cds.yaml"])


# --- a real Envoy ------------------------------------------------------------------------------

class Upstream:
    """A stand-in control plane on its own event loop thread: echoes its name, the path and the headers."""

    def __init__(self, name: str, port: int):
        self.name, self.port = name, port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _start(self):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._echo)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def _echo(self, request):
        return web.json_response({"upstream": self.name, "path": request.path,
                                  "headers": {k.lower(): v for k, v in request.headers.items()}})


class DenyingSidecar(external_auth_pb2_grpc.AuthorizationServicer):
    """Denies every check with the status the client asked for and an OpenAI-shaped body."""

    BODY = {"error": {"message": "Invalid API key", "type": "invalid_request_error", "param": None,
                      "code": "invalid_api_key"}}

    def Check(self, request, context):
        status = int(request.attributes.request.http.headers.get("x-test-deny-status", "401"))
        response = external_auth_pb2.CheckResponse()
        response.status.code = 16  # UNAUTHENTICATED
        response.denied_response.status.code = status
        response.denied_response.body = json.dumps(self.BODY)
        header = response.denied_response.headers.add().header
        header.key, header.value = "content-type", "application/json"
        return response


def start_sidecar(sockets: list[Path]) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    external_auth_pb2_grpc.add_AuthorizationServicer_to_server(DenyingSidecar(), server)
    for socket in sockets:
        socket.parent.mkdir(parents=True, exist_ok=True)
        server.add_insecure_port(f"unix:{socket}")
    server.start()
    return server


def request(port: int, path: str, headers=None, context: ssl.SSLContext | None = None):
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def start_envoy(bootstrap: Path, settings: Settings, log: Path) -> subprocess.Popen:
    command = [str(ENVOY), "-c", str(bootstrap), "--base-id", str(random.randint(1000, 60000)),
               "--disable-hot-restart", "--concurrency", "1", "-l", "warning"]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, settings, log)
    except BaseException:
        stop_envoy(process)
        raise
    return process


def _wait_ready(process: subprocess.Popen, settings: Settings, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"envoy exited with {process.returncode}:\n{log.read_text()}")
        try:
            if request(settings.admin_port, "/ready")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"envoy not ready:\n{log.read_text()}")


def stop_envoy(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture
def gateway(tmp_path):
    """Envoy on free loopback ports with the stand-in control plane behind it; no sidecar running."""
    config, settings = make_config(), make_settings(tmp_path)
    bootstrap = envoy_render.write(config, settings)
    with Upstream("control-plane", settings.control_plane_port):
        process = start_envoy(bootstrap, settings, tmp_path / "envoy.log")
        try:
            yield config, settings, process
        finally:
            stop_envoy(process)


def test_public_route_reaches_control_plane_without_client_clew_headers(gateway):
    _, settings, _ = gateway
    status, _, body = request(settings.http_port, "/v1/auth/signup",
                              {"X-Clew-Foo": "spoofed", "x-clew-account-id": "acct_1", "X-Other": "kept"})
    echoed = json.loads(body)
    assert status == 200 and echoed["path"] == "/v1/auth/signup"
    assert not [h for h in echoed["headers"] if h.startswith("x-clew-")]
    assert echoed["headers"]["x-other"] == "kept"


def test_a_client_sending_the_routing_headers_and_the_token_reaches_no_provider(gateway):
    """A real Envoy: even a client that knew the route token could not pick a provider route, because
    its x-clew-* headers are gone before the route is chosen; the request lands where its path says."""
    _, settings, _ = gateway
    forged = {"X-Clew-Provider": "groq", "x-clew-route": internal_api.route_token(INTERNAL_SECRET.encode())}
    for path in ("/v1/models", "/v1/anything", "/"):
        status, _, body = request(settings.http_port, path, forged)
        echoed = json.loads(body)
        assert (status, echoed["upstream"], echoed["path"]) == (200, "control-plane", path)
        assert not [h for h in echoed["headers"] if h.startswith("x-clew-")]


def test_management_route_without_sidecar_is_openai_shaped_503(gateway):
    _, settings, _ = gateway
    status, headers, body = request(settings.http_port, "/v1/keys")
    assert status == 503
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": {"message": "Authentication service unavailable", "type": "server_error",
                                          "param": None, "code": "auth_unavailable"}}


def test_sidecar_denial_reaches_client_unchanged(gateway):
    # A 503 denial too: it carries the same UAEX flag as "sidecar unreachable" and must not be rewritten.
    _, settings, _ = gateway
    sidecar = start_sidecar(settings.sidecar_sockets)
    try:
        for deny_status in (401, 503):
            status, headers, body = request(settings.http_port, "/v1/keys",
                                            {"x-test-deny-status": str(deny_status)})
            assert (status, json.loads(body)) == (deny_status, DenyingSidecar.BODY)
            assert headers["content-type"] == "application/json"
    finally:
        sidecar.stop(0)


def test_https_serves_the_generated_certificate(gateway):
    config, settings, _ = gateway
    cert_path, _ = resolve_tls_paths(config, settings)
    context = ssl.create_default_context(cafile=str(cert_path))
    status, _, body = request(settings.https_port, "/v1/models", context=context)
    assert status == 200 and json.loads(body)["path"] == "/v1/models"


def test_changed_cluster_is_picked_up_without_restart(gateway, tmp_path):
    config, settings, process = gateway
    moved = dataclasses.replace(settings, control_plane_port=free_port())
    with Upstream("moved-control-plane", moved.control_plane_port):
        envoy_render.write(config, moved)
        deadline, seen = time.monotonic() + 5, None
        while time.monotonic() < deadline and seen != "moved-control-plane":
            status, _, body = request(settings.http_port, "/v1/models")
            seen = json.loads(body).get("upstream") if status == 200 else None
            time.sleep(0.05)
        assert seen == "moved-control-plane"
    assert process.poll() is None


def test_each_subset_of_a_routers_candidates_has_an_aggregate_cluster_with_the_upstream_filter(tmp_path):
    clusters = {c["name"]: c
                for c in envoy_render.render(make_config(), make_settings(tmp_path))["cds.yaml"]["resources"]}
    free = [name for name in clusters if name.startswith("router_clew_free_")]
    assert len(free) == 2 ** 3 - 1
    both_last = clusters["router_clew_free_6"]  # candidates 1 and 2
    assert both_last["cluster_type"]["typed_config"]["clusters"] == ["candidate_clew_free_1", "candidate_clew_free_2"]
    filters = both_last["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert [f["name"] for f in filters["http_filters"]] == [EXT_PROC, "envoy.filters.http.upstream_codec"]


def test_candidate_clusters_name_their_model_in_endpoint_metadata(tmp_path):
    clusters = {c["name"]: c
                for c in envoy_render.render(make_config(), make_settings(tmp_path))["cds.yaml"]["resources"]}
    endpoint = clusters["candidate_clew_ocr_0"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert endpoint["metadata"] == {"filter_metadata": {"clew": {"model": "deepseek/ocr"}}}


def test_router_routes_retry_once_per_candidate_on_the_next_one(tmp_path):
    route = rendered_routes(make_config(), make_settings(tmp_path))["provider:clew/free#7"]
    policy = route["route"]["retry_policy"]
    assert route["route"]["cluster"] == "router_clew_free_7" and policy["num_retries"] == 2
    assert policy["retriable_status_codes"] == [429, 500, 502, 503, 504]
    assert policy["retry_priority"]["name"] == "envoy.retry_priorities.previous_priorities"
