"""Which access log lines are deliveries to check, and when a ledger row must be corrected."""
import json

import pytest

from plugins.deliveries import INCOMPLETE, Delivery, corrected_status, suspect


def _line(**fields) -> bytes:
    entry = {"request_id": "req-1", "status": 200, "response_flags": "-", "response_code_details": "via_upstream",
             "bytes_sent": 500, "upstream_cluster": "provider_deepseek", "path": "/deepseek/chat/completions",
             "upstream_bytes_received": 700}
    return json.dumps({**entry, **fields}, separators=(",", ":"), sort_keys=True).encode()  # as Envoy writes it


@pytest.mark.parametrize("line", [
    _line(),  # a clean answer: not even parsed
    _line(response_flags="DC", upstream_cluster="control_plane"),  # a management route
    _line(response_flags="DC", request_id=""),
    _line(status=429, response_code_details="clew_rate_limited", upstream_cluster="control_plane"),
    b"not json", b"[1, 2]",
    _line(response_flags="DC", status=0, bytes_sent=0),  # the client left before the provider answered
    _line(status=503, response_flags="UF", upstream_bytes_received=0),  # the provider was not reachable
])
def test_lines_that_are_not_cut_deliveries_of_a_model_are_skipped(line):
    assert suspect(line) is None


@pytest.mark.parametrize("fields", [
    {"response_flags": "DC", "bytes_sent": 0},  # the client left before the last write
    {"status": 503, "response_code_details": "ext_proc_error_gRPC_error_13"},  # the sidecar died meanwhile
    {"response_code_details": "ext_proc_error_gRPC_error_13"},  # ... after a stream's headers went out
    {"upstream_cluster": "router_clew_free_3", "response_flags": "DC"},
    {"upstream_cluster": "candidate_clew_ocr_0", "response_flags": "SI"},
])
def test_lines_envoy_did_not_finish_cleanly_are_deliveries_to_check(fields):
    line = _line(**fields)
    entry = json.loads(line)
    assert suspect(line) == Delivery("req-1", entry["status"], entry["response_flags"], entry["bytes_sent"])


@pytest.mark.parametrize("row_status, body_bytes, delivery, expected", [
    (200, 519, Delivery("r", 200, "DC", 0), INCOMPLETE),  # a JSON answer never written
    (200, 2000, Delivery("r", 200, "DC", 1500), INCOMPLETE),  # a stream's last reply not written
    (200, 1576, Delivery("r", 200, "DC", 1576), None),  # all of it out; only the empty final reply was not
    (200, 519, Delivery("r", 503, "-", 125), 503),  # Envoy answered with its own error instead
    (499, 900, Delivery("r", 200, "DC", 300), None),  # the sidecar saw the cut itself and billed it
    (502, 900, Delivery("r", 200, "-", 900), None),
    (200, None, Delivery("r", 200, "DC", 0), None),  # a row from before body_bytes was kept
])
def test_a_row_is_corrected_only_when_it_says_more_was_delivered_than_went_through(row_status, body_bytes,
                                                                                   delivery, expected):
    assert corrected_status(row_status, body_bytes, delivery) == expected
