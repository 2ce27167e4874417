"""A sidecar that stops waits for the completions of streams that ended early: they publish usage."""
import asyncio

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
