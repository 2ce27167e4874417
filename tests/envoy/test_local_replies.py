"""Envoy's own replies say what kind of failure it was, never the details behind it."""
import json

from envoy_config.access_log import ACCESS_LOG_FORMAT
from envoy_config.local_replies import local_reply_config


def test_no_local_reply_body_echoes_response_code_details():
    # They can hold a sidecar's exception text or gRPC status: the access log has them instead.
    assert "%RESPONSE_CODE_DETAILS%" not in json.dumps(local_reply_config())
    assert ACCESS_LOG_FORMAT["response_code_details"] == "%RESPONSE_CODE_DETAILS%"
