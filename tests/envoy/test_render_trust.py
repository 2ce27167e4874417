"""The trust boundaries in the rendered Envoy config: no client header picks a route, provider and router
routes answer only the sidecar's decision, and every call to the sidecar proves it comes from Envoy."""
import stat

import yaml

from envoy_config import render as envoy_render
from schemas import internal_api
from tests.envoy.test_render import (
    EXT_AUTHZ,
    EXT_PROC,
    INTERNAL_SECRET,
    hcm,
    make_config,
    make_settings,
    rendered_routes,
)

SIDECAR_TOKEN = internal_api.sidecar_token(INTERNAL_SECRET.encode())
ROUTE_TOKEN = internal_api.route_token(INTERNAL_SECRET.encode())


def _metadata(grpc_service: dict) -> dict:
    return {m["key"]: m["value"] for m in grpc_service["initial_metadata"]}


def _rendered(tmp_path) -> dict:
    return envoy_render.render(make_config(), make_settings(tmp_path))


def test_ext_authz_and_ext_proc_calls_carry_the_sidecar_token(tmp_path):
    for listener in _rendered(tmp_path)["lds.yaml"]["resources"]:
        filters = {f["name"]: f["typed_config"] for f in hcm(listener)["http_filters"]}
        for name in (EXT_AUTHZ, EXT_PROC):
            service = filters[name]["grpc_service"]
            assert service["envoy_grpc"] == {"cluster_name": "sidecar"}
            assert _metadata(service) == {"x-clew-sidecar-token": SIDECAR_TOKEN}, name


def test_every_routers_upstream_filter_carries_the_sidecar_token_and_its_phase(tmp_path):
    aggregates = [c for c in _rendered(tmp_path)["cds.yaml"]["resources"] if c["name"].startswith("router_")]
    assert len(aggregates) == 2 * (2 ** 3 - 1)  # clew/free and clew/ocr, three candidates each
    for cluster in aggregates:
        options = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
        ext_proc = options["http_filters"][0]["typed_config"]
        assert _metadata(ext_proc["grpc_service"]) == {"x-clew-sidecar-token": SIDECAR_TOKEN,
                                                       "x-clew-phase": "upstream"}, cluster["name"]


def _upstream_routes(tmp_path) -> list[dict]:
    return [r for r in rendered_routes(make_config(), make_settings(tmp_path)).values()
            if r["route"]["cluster"].startswith(("provider_", "router_"))]


def test_every_route_that_names_a_provider_header_demands_the_route_token_and_removes_both(tmp_path):
    routes = _upstream_routes(tmp_path)
    assert len(routes) == 6 + 2 * 7  # six providers, seven candidate subsets per router
    for route in routes:
        headers = {h["name"]: h["string_match"] for h in route["match"]["headers"]}
        assert headers["x-clew-route"] == {"exact": ROUTE_TOKEN}, route["name"]
        assert headers["x-clew-provider"] == {"exact": route["name"].removeprefix("provider:")}
        assert route["request_headers_to_remove"] == ["x-clew-provider", "x-clew-route"]


def test_every_other_route_matches_on_the_path_alone_or_on_a_credential_that_adds_authentication(tmp_path):
    # A client header may only pick the authenticated twin of a public control-plane route (the model
    # list of the key it sends): ext_authz is on there, so the header can add a check, never skip one.
    routes = rendered_routes(make_config(), make_settings(tmp_path))
    others = [r for r in routes.values() if not r["route"]["cluster"].startswith(("provider_", "router_"))]
    assert others and all(set(r["match"]) <= {"path", "prefix", "headers"} for r in others)
    by_header = [r for r in others if "headers" in r["match"]]
    assert {h["name"] for r in by_header for h in r["match"]["headers"]} == {"authorization", "x-api-key"}
    for route in by_header:
        assert route["match"]["headers"] == [{"name": route["match"]["headers"][0]["name"], "present_match": True}]
        assert route["route"]["cluster"] == "control_plane"
        assert EXT_AUTHZ not in route.get("typed_per_filter_config", {}), route["name"]


def test_tokens_come_from_the_internal_secret_and_differ_per_install_and_purpose(tmp_path):
    other = internal_api.route_token(b"another-install-internal-secret-0123456789")
    assert len({ROUTE_TOKEN, SIDECAR_TOKEN, other}) == 3
    assert INTERNAL_SECRET not in ROUTE_TOKEN + SIDECAR_TOKEN
    assert len(ROUTE_TOKEN) == len(SIDECAR_TOKEN) == 64


def test_rendered_files_holding_the_tokens_are_private(tmp_path):
    envoy_render.write(make_config(), make_settings(tmp_path))
    files = sorted((tmp_path / "envoy").iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert ROUTE_TOKEN in (tmp_path / "envoy" / "rds.yaml").read_text()
    assert SIDECAR_TOKEN in yaml.safe_dump(yaml.safe_load((tmp_path / "envoy" / "lds.yaml").read_text()))

