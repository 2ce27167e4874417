"""The delivery reconciler: a ledger row saying more was delivered than Envoy's access log shows went
through is corrected once, whichever came first, and the counters follow; a restart resumes where it
stopped; the log is rotated. On SQLite and on PostgreSQL."""
import json
import os
import time
import uuid

import sqlalchemy as sa

from plugins.access_log_tail import ROTATION_GRACE_SECONDS, LogTail, rotated_name
from plugins.delivery_reconciler import DeliveryReconciler
from plugins.delivery_store import DeliveryStore
from plugins.metrics import DELIVERY_LINES
from schemas.events import UsageEvent
from schemas.tables import usage_events

# A JSON answer: 6 prompt and 28 completion tokens; 3000 nano-USD for the prompt alone.
FULL = {"prompt_tokens": 6, "completion_tokens": 28, "cost_nanos": 44_500}
IF_CUT = {"body_bytes": 519, "cut_completion_tokens": 0, "cut_cost_nanos": 3_000}


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _event(**fields) -> UsageEvent:
    return UsageEvent(**{"request_id": f"req-{uuid.uuid4().hex[:12]}", "account_id": "acct_1", "key_id": "key_1",
                         "key_source": "pool", "model": "deepseek-v4", "provider": "deepseek", "status": 200,
                         "latency_ms": 5, "streamed": False, "created_at": time.time(), **FULL, **IF_CUT, **fields})


async def _land(engine, event: UsageEvent) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.insert(usage_events).values(event.ledger_row()))


async def _row(engine, request_id: str):
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(usage_events).where(usage_events.c.request_id == request_id))).one()


def _log(path, request_id: str, **fields) -> None:
    entry = {"request_id": request_id, "status": 200, "response_flags": "-", "response_code_details": "via_upstream",
             "bytes_sent": IF_CUT["body_bytes"], "upstream_cluster": "provider_deepseek", **fields}
    with open(path, "a") as file:
        file.write(json.dumps(entry, separators=(",", ":"), sort_keys=True) + "\n")


class Reconciler:
    """A reconciler over a log file and a state file in tmp_path, restartable; what it settled."""

    def __init__(self, tmp_path, engine, clock, **options):
        self.log, self.state, self.engine, self.clock, self.options = (
            tmp_path / "access.log", tmp_path / "deliveries.db", engine, clock, options)
        self.settled = []
        self.start()

    def start(self) -> None:
        store = DeliveryStore(self.state)
        self.reconciler = DeliveryReconciler(LogTail(self.log, store.position(), clock=lambda: self.clock.now),
                                             store, self.engine, self._settle, clock=self.clock, **self.options)

    def restart(self) -> None:
        self.reconciler.tail.close()
        self.reconciler.store.close()
        self.start()

    async def _settle(self, change) -> None:
        self.settled.append((change.account_id, change.tokens, change.nanos))

    async def step(self) -> None:
        while await self.reconciler.step():
            pass


async def test_a_json_answer_cut_during_its_last_write_is_billed_for_its_prompt_once(tmp_path, migrated_engine):
    reconciler = Reconciler(tmp_path, migrated_engine, Clock())
    event = _event()
    await _land(migrated_engine, event)
    _log(reconciler.log, event.request_id, response_flags="DC", bytes_sent=0,
         response_code_details="downstream_remote_disconnect")
    await reconciler.step()
    row = await _row(migrated_engine, event.request_id)
    assert (row.status, row.prompt_tokens, row.completion_tokens, row.total_tokens, row.cost_nanos) == (
        499, 6, 0, 6, 3_000)
    assert reconciler.settled == [("acct_1", -28, -41_500)]
    _log(reconciler.log, event.request_id, response_flags="DC", bytes_sent=0)  # the same line again
    await reconciler.step()
    assert reconciler.settled == [("acct_1", -28, -41_500)]


async def test_answers_that_went_through_whole_are_left_as_they_are(tmp_path, migrated_engine):
    reconciler = Reconciler(tmp_path, migrated_engine, Clock())
    clean, closed_after = _event(), _event(streamed=True, cut_completion_tokens=28, cut_cost_nanos=44_500)
    for event in (clean, closed_after):
        await _land(migrated_engine, event)
    _log(reconciler.log, clean.request_id)
    _log(reconciler.log, closed_after.request_id, response_flags="DC")  # every byte out; the empty end was not
    await reconciler.step()
    for event in (clean, closed_after):
        assert (await _row(migrated_engine, event.request_id)).status == 200
    assert reconciler.settled == [] and reconciler.reconciler.store.pending() == 0


async def test_a_line_read_before_its_row_landed_is_applied_once_the_row_lands(tmp_path, migrated_engine):
    clock = Clock()
    reconciler = Reconciler(tmp_path, migrated_engine, clock)
    event = _event(status=200)
    _log(reconciler.log, event.request_id, status=503, response_code_details="ext_proc_error_gRPC_error_13",
         bytes_sent=125)
    await reconciler.step()
    assert reconciler.reconciler.store.pending() == 1
    await _land(migrated_engine, event)  # its event was spooled, say, and replayed later
    reconciler.restart()  # the pending correction survives a restart too
    clock.now += 60
    await reconciler.step()
    row = await _row(migrated_engine, event.request_id)
    assert (row.status, row.total_tokens, row.cost_nanos) == (503, 6, 3_000)
    assert reconciler.settled == [("acct_1", -28, -41_500)] and reconciler.reconciler.store.pending() == 0


async def test_a_restart_resumes_at_its_position_and_reads_no_line_twice(tmp_path, migrated_engine):
    reconciler = Reconciler(tmp_path, migrated_engine, Clock())
    first, second = _event(), _event()
    for event in (first, second):
        await _land(migrated_engine, event)
    _log(reconciler.log, first.request_id, response_flags="DC", bytes_sent=0)
    await reconciler.step()
    reconciler.restart()
    read = DELIVERY_LINES._value.get()
    _log(reconciler.log, second.request_id, response_flags="DC", bytes_sent=0)
    await reconciler.step()
    assert DELIVERY_LINES._value.get() - read == 1
    assert reconciler.settled == [("acct_1", -28, -41_500)] * 2
    assert (await _row(migrated_engine, second.request_id)).status == 499


async def test_a_log_past_its_size_is_rotated_and_the_new_file_read(tmp_path, migrated_engine):
    clock = Clock()
    reopened = []

    async def reopen() -> bool:  # what Envoy does on /reopen_logs: a new file at the path
        reopened.append(True)
        (tmp_path / "access.log").touch()
        return True

    reconciler = Reconciler(tmp_path, migrated_engine, clock, rotate_bytes=100, reopen=reopen)
    before, after = _event(), _event()
    for event in (before, after):
        await _land(migrated_engine, event)
    _log(reconciler.log, before.request_id, response_flags="DC", bytes_sent=0)
    await reconciler.step()
    assert reopened == [True] and rotated_name(reconciler.log).exists()
    assert os.stat(reconciler.log).st_size == 0
    _log(reconciler.log, after.request_id, response_flags="DC", bytes_sent=0)
    await reconciler.step()  # the old file's grace period starts
    clock.now += ROTATION_GRACE_SECONDS
    await reconciler.step()
    assert [(await _row(migrated_engine, e.request_id)).status for e in (before, after)] == [499, 499]
