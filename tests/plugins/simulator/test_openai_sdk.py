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


async def test_sdk_embeddings_default_base64_decode_to_the_float_vector(sdk):
    # The SDK asks for base64 unless told otherwise and decodes it to floats itself.
    default = await sdk.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])
    floats = await sdk.embeddings.create(model="text-embedding-3-small", input=["hello", "world"],
                                         encoding_format="float")
    assert [d.embedding for d in default.data] == [d.embedding for d in floats.data]
    assert len(default.data[0].embedding) == 1536 and default.usage.prompt_tokens == 4


async def test_sdk_embeddings_with_dimensions(sdk):
    result = await sdk.embeddings.create(model="text-embedding-3-large", input="hello", dimensions=64)
    assert len(result.data[0].embedding) == 64


WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


async def test_sdk_parses_a_tool_call(sdk):
    completion = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=[WEATHER_TOOL],
                                                   tool_choice="required")
    [call] = completion.choices[0].message.tool_calls
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and call.function.arguments == '{"city":"example"}'


async def test_sdk_streams_a_tool_call(sdk):
    stream = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=[WEATHER_TOOL],
                                               tool_choice={"type": "function", "function": {"name": "get_weather"}},
                                               stream=True)
    chunks = [chunk async for chunk in stream]
    calls = [call for chunk in chunks for call in (chunk.choices[0].delta.tool_calls or [])]
    assert calls[0].id.startswith("call_") and calls[0].function.name == "get_weather"
    assert "".join(call.function.arguments for call in calls) == '{"city":"example"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
