"""A sidecar that stops waits for the completions of streams that ended early: they publish usage. A
completion is never cut short by the client leaving."""
import asyncio
import contextlib
from types import SimpleNamespace

from envoy.config.core.v3 import base_pb2
from envoy.service.ext_proc.v3 import external_processor_pb2 as ext_proc

from plugins import envoy_grpc


async def test_stopping_waits_for_a_completion_still_running():
    published = []

    async def completion():
        await asyncio.sleep(0.2)
        published.append("usage event")

    envoy_grpc._spawn(completion())
    await envoy_grpc.completions_finished(timeout=10)
    assert published == ["usage event"]


async def test_stopping_waits_no_longer_than_its_timeout_for_a_completion_that_hangs():
    hung = asyncio.Event()
    envoy_grpc._spawn(hung.wait())
    await envoy_grpc.completions_finished(timeout=0.05)
    assert envoy_grpc._background  # still there: the timeout, not the task, ended the wait
    hung.set()
    await envoy_grpc.completions_finished(timeout=10)


class SlowChain:
    """An endpoint's chain whose completion (queueing the usage event) takes a while."""

    def __init__(self):
        self.completing, self.completed = asyncio.Event(), asyncio.Event()

    async def request_headers(self, ctx) -> None:
        pass

    async def request_body(self, ctx, body: bytes) -> None:
        pass

    async def response_headers(self, ctx, status: int, headers: dict, via_upstream: bool) -> None:
        pass

    async def complete(self, ctx) -> None:
        self.completing.set()
        await asyncio.sleep(0.2)
        self.completed.set()


def _headers(end_of_stream: bool, **headers) -> ext_proc.HttpHeaders:
    values = [base_pb2.HeaderValue(key=key, raw_value=value.encode()) for key, value in headers.items()]
    return ext_proc.HttpHeaders(headers=base_pb2.HeaderMap(headers=values), end_of_stream=end_of_stream)


async def test_a_client_leaving_while_the_last_reply_is_prepared_still_gets_its_usage_queued():
    chain = SlowChain()
    endpoints = SimpleNamespace(for_path=lambda path: SimpleNamespace(chain=chain))
    service = envoy_grpc.ExternalProcessorService(endpoints, SimpleNamespace(current=None), None, "token")

    async def messages():
        yield ext_proc.ProcessingRequest(request_headers=_headers(True, **{":path": "/v1/chat/completions"}))
        yield ext_proc.ProcessingRequest(response_headers=_headers(True, **{":status": "200"}))

    async def serve() -> None:
        async for _ in service.Process(messages(), SimpleNamespace(invocation_metadata=lambda: ())):
            pass

    stream = asyncio.create_task(serve())
    await chain.completing.wait()
    stream.cancel()  # what grpc.aio does to the handler when Envoy resets the stream (the client left)
    with contextlib.suppress(asyncio.CancelledError):
        await stream
    await envoy_grpc.completions_finished(timeout=10)
    assert chain.completed.is_set()
