"""Envoy's runtime as rendered: ext_proc streams are half-closed, never reset (envoy_config.runtime)."""
from envoy_config import render as envoy_render
from envoy_config.runtime import GRACEFUL_CLOSE, REMOTE_CLOSE_TIMEOUT
from tests.envoy.test_render import make_config, make_settings


def test_both_bootstraps_close_ext_proc_streams_gracefully(tmp_path):
    config, settings = make_config(), make_settings(tmp_path)
    for bootstrap in (envoy_render.render(config, settings)["bootstrap.yaml"],
                      envoy_render.render_static(config, settings)):
        static = bootstrap["layered_runtime"]["layers"][0]["static_layer"]
        assert static[GRACEFUL_CLOSE] is True
        assert static[REMOTE_CLOSE_TIMEOUT] > 1000  # Envoy's default: a busy sidecar would be reset
