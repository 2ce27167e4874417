"""A usage event the queue cannot take is spooled on disk and replayed in order, exactly once in the ledger."""
import asyncio
import time
import uuid

from plugins.usage_spool import Spool, SpoolingSink
from schemas.events import UsageEvent


def _event(n: int) -> UsageEvent:
    return UsageEvent(request_id=f"req-{n}-{uuid.uuid4().hex[:6]}", account_id="acct_1", key_id="", key_source="pool",
                      model="deepseek-v4", provider="deepseek", prompt_tokens=n, completion_tokens=n, cost_nanos=n,
                      status=200, latency_ms=1, streamed=False, created_at=time.time())


class Queue:
    """A usage queue that can be taken away, or made to hang."""

    def __init__(self):
        self.events, self.down, self.hang = [], False, False

    async def publish(self, event: UsageEvent) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise ConnectionError("queue unavailable")
        self.events.append(event)


async def test_an_event_the_queue_refuses_is_spooled_and_replayed_in_order_once_it_is_back(tmp_path):
    queue = Queue()
    sink = SpoolingSink(queue, Spool(tmp_path / "spool.db"), timeout=0.2)
    queue.down = True
    events = [_event(n) for n in range(5)]
    for event in events:
        await sink.publish(event)
    assert queue.events == [] and sink.spool.depth() == 5
    assert await sink.replay_once() == 0  # still down: nothing is lost, nothing moves
    queue.down = False
    assert await sink.replay_once() == 5
    assert queue.events == events and sink.spool.depth() == 0


async def test_a_queue_that_hangs_costs_the_request_the_timeout_and_no_event(tmp_path):
    queue = Queue()
    queue.hang = True
    sink = SpoolingSink(queue, Spool(tmp_path / "spool.db"), timeout=0.1)
    event = _event(1)
    await asyncio.wait_for(sink.publish(event), 5)
    assert [e for _, e in await sink.spool.oldest(10)] == [event]


async def test_a_spool_left_by_a_dead_process_is_replayed_by_the_next_one(tmp_path):
    queue = Queue()
    queue.down = True
    first = SpoolingSink(queue, Spool(tmp_path / "spool.db"), timeout=0.1)
    event = _event(7)
    await first.publish(event)
    first.spool.close()  # the process is gone; its file stays
    queue.down = False
    again = SpoolingSink(queue, Spool(tmp_path / "spool.db"), timeout=0.1)
    assert await again.replay_once() == 1 and queue.events == [event]


async def test_the_spool_file_is_private(tmp_path):
    spool = Spool(tmp_path / "spool" / "sidecar-0.db")
    await spool.append(_event(1))
    assert oct((tmp_path / "spool" / "sidecar-0.db").stat().st_mode & 0o777) == oct(0o600)
