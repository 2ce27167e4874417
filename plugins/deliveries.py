"""What Envoy's access log says a client got, and whether the ledger row of the request says the same.

The sidecar queues a request's usage event just before its last reply to Envoy (plugins.envoy_grpc):
the event says the client got the whole answer. Envoy's access log line, written when the request
ends, says what Envoy actually handed to the client: the status it sent, the response body bytes
(`bytes_sent`), and flags such as DC (the client's connection ended first). Where they disagree —
the client left during the last write, or a sidecar died after queueing the event and Envoy answered
with an error — the row is corrected to what went through (plugins.ledger_correction).

Envoy counts a byte as sent once it is in its own write buffer: a client that leaves while its
kernel or Envoy's buffers still hold the end of an answer Envoy finished writing is not seen here.
"""
import json
from dataclasses import asdict, dataclass

from schemas.internal_api import is_model_cluster

INCOMPLETE = 499  # nginx's "client closed request": the answer did not reach the client whole
# A line with all three is a request Envoy finished as it was told to: the common case, skipped unparsed.
_CLEAN = (b'"response_flags":"-"', b'"response_code_details":"via_upstream"', b'"status":2')


@dataclass(frozen=True)
class Delivery:
    request_id: str
    status: int       # what Envoy sent the client (its local reply's, when it answered instead)
    flags: str        # Envoy's response flags, "-" for none
    bytes_sent: int   # response body bytes Envoy handed to the client's connection

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Delivery":
        return cls(**data)


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def suspect(line: bytes) -> Delivery | None:
    """The delivery of a request that went to a provider and that Envoy did not finish cleanly; None
    for every other line (management routes, clean answers, lines that are not ours)."""
    if all(part in line for part in _CLEAN):
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not is_model_cluster(entry.get("upstream_cluster")):
        return None
    if entry.get("status") == 0 or entry.get("upstream_bytes_received") == 0:
        return None  # the provider never answered (the client left first, no provider reachable): nothing metered
    request_id = entry.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        return None
    return Delivery(request_id, _int(entry.get("status")), str(entry.get("response_flags") or "-"),
                    _int(entry.get("bytes_sent")))


def corrected_status(row_status: int, body_bytes: int | None, delivery: Delivery) -> int | None:
    """The status the ledger row should have, or None when it already describes what the client got.

    Only a row saying the answer was delivered (2xx) is corrected: the sidecar records the cuts it
    saw itself (499, 502) with what went through. A row from before body_bytes was kept is left alone.
    """
    if not 200 <= row_status < 300 or body_bytes is None:
        return None
    if delivery.status == row_status and delivery.bytes_sent >= body_bytes:
        return None  # all of it went out, even if the connection ended right after (a DC on the final, empty reply)
    if delivery.status >= 400:
        return delivery.status  # Envoy answered with an error of its own instead (the sidecar died)
    return INCOMPLETE
