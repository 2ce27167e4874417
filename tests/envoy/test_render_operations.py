"""What the rendered Envoy config gives operators: a JSON access log, health checks against the
components' /readyz, request ids on responses, and an ops listener for probes and Prometheus."""
from envoy_config import render as envoy_render
from schemas.settings import Settings
from tests.envoy.test_render import hcm, make_config, make_settings, run_validate
from tests.support.ports import free_port


def _clusters(settings) -> dict:
    return {c["name"]: c for c in envoy_render.render(make_config(), settings)["cds.yaml"]["resources"]}


def _listeners(settings) -> list[dict]:
    return envoy_render.render(make_config(), settings)["lds.yaml"]["resources"]


def test_both_listeners_write_a_json_access_log_outside_the_watched_directory(tmp_path):
    settings = make_settings(tmp_path)
    for listener in _listeners(settings):
        log, anonymous = hcm(listener)["access_log"]
        fields = log["typed_config"]["log_format"]["json_format"]
        expected = str(tmp_path / "log" / "envoy-access.log")
        assert log["typed_config"]["path"] == anonymous["typed_config"]["path"] == expected
        assert fields["request_id"] == "%REQ(X-REQUEST-ID)%"
        assert {"method", "status", "duration_ms", "upstream_cluster", "response_flags", "bytes_sent"} <= fields.keys()


def test_access_log_leaves_query_strings_and_credentials_out(tmp_path):
    fields = hcm(_listeners(make_settings(tmp_path))[0])["access_log"][0]["typed_config"]["log_format"]["json_format"]
    assert fields["path"] == "%REQ_WITHOUT_QUERY(:PATH)%"
    assert not [v for v in fields.values() if "AUTHORIZATION" in v.upper() or "API-KEY" in v.upper()]


def test_access_log_goes_where_settings_say(tmp_path):
    settings = make_settings(tmp_path, CLEW_ENVOY_ACCESS_LOG="/dev/stdout")
    assert hcm(_listeners(settings)[1])["access_log"][0]["typed_config"]["path"] == "/dev/stdout"


def test_with_the_access_log_on_stdout_the_same_lines_also_go_to_the_delivery_log(tmp_path):
    """Sidecar 0 reconciles deliveries from a file (plugins.delivery_reconciler): a second copy of each
    logger, the anonymous split included; none when the access log is that file already."""
    settings = make_settings(tmp_path, CLEW_ENVOY_ACCESS_LOG="/dev/stdout", CLEW_DELIVERY_LOG="/var/log/clew/a.log")
    loggers = hcm(_listeners(settings)[0])["access_log"]
    assert [logger["typed_config"]["path"] for logger in loggers] == ["/dev/stdout"] * 2 + ["/var/log/clew/a.log"] * 2
    assert loggers[:2] == [{**logger, "typed_config": {**logger["typed_config"], "path": "/dev/stdout"}}
                           for logger in loggers[2:]]
    assert Settings.from_env({"CLEW_HOME": str(tmp_path), "CLEW_ENVOY_ACCESS_LOG": "/dev/stdout"}).delivery_log == ""
    default = make_settings(tmp_path)
    assert default.delivery_log == default.envoy_access_log
    assert len(hcm(_listeners(default)[0])["access_log"]) == 2


def test_responses_carry_the_request_id(tmp_path):
    assert all(hcm(listener)["always_set_request_id_in_response"] for listener in _listeners(make_settings(tmp_path)))


def test_each_sidecar_process_is_health_checked_on_its_own_ops_port(tmp_path):
    settings = make_settings(tmp_path, CLEW_SIDECAR_METRICS_PORT=str(free_port()))
    sidecar = _clusters(settings)["sidecar"]
    endpoints = sidecar["load_assignment"]["endpoints"][0]["lb_endpoints"]
    # The endpoints are Unix sockets; the ops ports are on the same host.
    assert [e["endpoint"]["health_check_config"]["address"]["socket_address"] for e in endpoints] == [
        {"address": "127.0.0.1", "port_value": settings.sidecar_metrics_port},
        {"address": "127.0.0.1", "port_value": settings.sidecar_metrics_port + 1}]
    check = sidecar["health_checks"][0]["http_health_check"]
    assert check == {"path": "/readyz", "codec_client_type": "HTTP1"}  # ops ports speak HTTP/1.1, not gRPC


def test_control_plane_is_health_checked_and_found_at_its_own_host(tmp_path):
    settings = make_settings(tmp_path, CLEW_CONTROL_PLANE_HOST="control-plane", CLEW_UPSTREAM_HOST="10.0.0.1")
    clusters = _clusters(settings)
    endpoint = clusters["control_plane"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"]["address"] == "control-plane"
    assert endpoint["health_check_config"] == {"port_value": settings.control_plane_metrics_port}
    assert clusters["control_plane"]["type"] == "STRICT_DNS" and clusters["sidecar"]["type"] == "STATIC"


def test_no_ops_listener_unless_asked(tmp_path):
    assert "static_resources" not in envoy_render.render(make_config(), make_settings(tmp_path))["bootstrap.yaml"]


def test_ops_listener_exposes_only_readiness_and_prometheus_stats(tmp_path):
    settings = make_settings(tmp_path, CLEW_ENVOY_OPS_PORT=str(free_port()), CLEW_LISTEN_ADDRESS="0.0.0.0")
    static = envoy_render.render(make_config(), settings)["bootstrap.yaml"]["static_resources"]
    [listener], [admin] = static["listeners"], static["clusters"]
    assert listener["address"]["socket_address"] == {"address": "0.0.0.0", "port_value": settings.envoy_ops_port}
    routes = hcm(listener)["route_config"]["virtual_hosts"][0]["routes"]
    assert [r["match"]["path"] for r in routes] == ["/ready", "/stats/prometheus"]
    assert admin["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"] == {
        "address": "127.0.0.1", "port_value": settings.admin_port}


def test_bootstrap_with_ops_listener_passes_envoy_validate(tmp_path):
    bootstrap = envoy_render.write(make_config(), make_settings(tmp_path, CLEW_ENVOY_OPS_PORT=str(free_port())))
    result = run_validate(bootstrap)
    assert result.returncode == 0, result.stderr + result.stdout
