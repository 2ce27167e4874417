"""Recorded provider answers (fixtures/) and the official SDKs pointed at a translator, offline."""
import json
from pathlib import Path

import anthropic
import httpx2
import openai

FIXTURES = Path(__file__).parent / "fixtures"


def load_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def chunks(name: str) -> list[dict]:
    """The chat.completion.chunk objects of a recorded provider stream, as the gateway parses them."""
    events = (FIXTURES / name).read_text().split("\n\n")
    payloads = [event.removeprefix("data: ") for event in events if event.startswith("data: ")]
    return [json.loads(payload) for payload in payloads if payload != "[DONE]"]


def events(frames: list[bytes]) -> list[tuple[str, dict]]:
    """(event name, data) of each frame; every frame must be one complete named SSE event."""
    parsed = []
    for frame in frames:
        assert frame.endswith(b"\n\n") and frame.count(b"\n\n") == 1, frame
        if frame.startswith(b":"):
            continue  # a comment (the cost line)
        name_line, data_line = frame.decode().rstrip("\n").split("\n")
        name, data = name_line.removeprefix("event: "), json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        parsed.append((name, data))
    return parsed


def translate_stream(module, recorded: str, model: str = "client-model", **finish) -> list[bytes]:
    translator = module.StreamTranslator(model, "req-0123")
    frames = [frame for chunk in chunks(recorded) for frame in translator.feed(chunk)]
    return frames + translator.finish(finish.get("usage"), finish.get("cost_usd"))


def _transport(answer):
    """A transport answering every request with `answer(request_body) -> (status, headers, bytes)`."""
    def handle(request: httpx2.Request) -> httpx2.Response:
        status, headers, content = answer(json.loads(request.content))
        return httpx2.Response(status, headers=headers, content=content)
    return httpx2.MockTransport(handle)


def anthropic_client(answer) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-clew-test", base_url="http://gateway.test", max_retries=0,
                               http_client=httpx2.Client(transport=_transport(answer)))


def openai_client(answer) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-clew-test", base_url="http://gateway.test/v1", max_retries=0,
                         http_client=httpx2.Client(transport=_transport(answer)))


def json_answer(status: int, body: dict):
    return status, {"content-type": "application/json"}, json.dumps(body).encode()


def sse_answer(frames: list[bytes]):
    return 200, {"content-type": "text/event-stream"}, b"".join(frames)
