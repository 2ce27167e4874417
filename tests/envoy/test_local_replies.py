"""Envoy's own replies say what kind of failure it was, never the details behind it."""
import json

from envoy_config.access_log import ACCESS_LOG_FORMAT
from envoy_config.local_replies import local_reply_config


def test_no_local_reply_body_echoes_response_code_details():
    # They can hold a sidecar's exception text or gRPC status: the access log has them instead.
    assert "%RESPONSE_CODE_DETAILS%" not in json.dumps(local_reply_config())
    assert ACCESS_LOG_FORMAT["response_code_details"] == "%RESPONSE_CODE_DETAILS%"


def test_envoys_own_replies_on_anthropics_endpoints_are_anthropic_shaped_and_come_first():
    mappers = local_reply_config()["mappers"]
    anthropic = [m for m in mappers if "and_filter" in m["filter"]]
    openai = [m for m in mappers if "json_format" in m.get("body_format_override", {}) and m not in anthropic]
    assert len(anthropic) == len(openai) - 1  # every reply but the management routes' ext_authz one
    assert mappers.index(anthropic[-1]) < mappers.index(openai[1])
    too_large = next(m for m in anthropic if m.get("status_code") == 413)
    assert too_large["body_format_override"]["json_format"] == {
        "type": "error", "error": {"type": "request_too_large", "message": "Request body too large"}}
    paths = json.dumps(too_large["filter"])
    assert '"/v1/messages"' in paths and '"/v1/messages/count_tokens"' in paths
