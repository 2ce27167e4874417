"""The official `openai` SDK parses what the simulator sends: the proof that it speaks the real API."""
import pytest

from tests.plugins.simulator.conftest import KEY, MESSAGES

openai = pytest.importorskip("openai")


@pytest.fixture
async def sdk(sim):
    client = openai.AsyncOpenAI(base_url=str(sim.make_url("/openai/v1")), api_key=KEY, max_retries=0)
    yield client
    await client.close()


async def test_sdk_creates_a_completion(sdk):
    completion = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=5)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 5 == len(completion.choices[0].message.content.split())


async def test_sdk_streams_with_include_usage(sdk):
    stream = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                               stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    content = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(content.split())


async def test_sdk_raises_typed_errors_for_faults(sdk):
    with pytest.raises(openai.RateLimitError) as caught:
        await sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                          extra_headers={"x-sim-status": "429"})
    assert caught.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.AuthenticationError):
        await sdk.with_options(api_key="invalid-key").chat.completions.create(model="m", messages=MESSAGES)
