"""Request-body validation with OpenAI's error wording, so gateway bugs surface as they would upstream."""
from dataclasses import dataclass

from plugins.simulator.errors import invalid
from plugins.simulator.tools import Tools, parse_tools

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
PART_TYPES = ("text", "image_url")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: list
    max_tokens: int | None
    stream: bool
    include_usage: bool
    tools: Tools | None = None  # None: the request offered no tools


def parse_chat(body) -> ChatRequest:
    if not isinstance(body, dict):
        raise invalid(None, "The request body must be a JSON object.")
    model = body.get("model")
    if model is None:
        raise invalid("model", "Missing required parameter: 'model'.", "missing_required_parameter")
    if not isinstance(model, str) or not model:
        raise invalid("model", "Invalid type for 'model': expected a non-empty string.", "invalid_type")
    _check_messages(body.get("messages"))
    stream = _optional_bool(body, "stream", "stream")
    return ChatRequest(model, body["messages"], _max_tokens(body), stream, _include_usage(body, stream),
                       parse_tools(body) if "tools" in body or "tool_choice" in body else None)


def _check_messages(messages) -> None:
    if messages is None:
        raise invalid("messages", "Missing required parameter: 'messages'.", "missing_required_parameter")
    if not isinstance(messages, list):
        raise invalid("messages", "Invalid type for 'messages': expected an array.", "invalid_type")
    if not messages:
        raise invalid("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1.",
                      "empty_array")
    for index, message in enumerate(messages):
        _check_message(message, f"messages[{index}]")


def _check_message(message, where: str) -> None:
    if not isinstance(message, dict):
        raise invalid(where, f"Invalid type for '{where}': expected an object.", "invalid_type")
    if message.get("role") not in ROLES:
        raise invalid(f"{where}.role", f"Invalid value for '{where}.role': expected one of {sorted(ROLES)}.",
                      "invalid_value")
    if message["role"] == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise invalid(f"{where}.tool_call_id", f"Missing required parameter: '{where}.tool_call_id'.",
                      "missing_required_parameter")
    content = message.get("content")
    if isinstance(content, str) or (content is None and message["role"] == "assistant"):
        return  # an assistant turn that only made tool calls has null content
    if not isinstance(content, list):
        raise invalid(f"{where}.content", f"Invalid type for '{where}.content': expected a string or an array.",
                      "invalid_type")
    for index, part in enumerate(content):
        _check_part(part, f"{where}.content[{index}]")


def _check_part(part, where: str) -> None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part.get("text"), str):
        return
    image = part.get("image_url") if kind == "image_url" else None
    if isinstance(image, dict) and isinstance(image.get("url"), str):
        return
    if kind not in PART_TYPES:
        raise invalid(f"{where}.type", f"Invalid value for '{where}.type': expected one of {list(PART_TYPES)}.",
                      "invalid_value")
    field = "text" if kind == "text" else "image_url.url"
    raise invalid(f"{where}.{field}", f"Missing or invalid '{where}.{field}'.", "invalid_type")


def _max_tokens(body: dict) -> int | None:
    # Newer SDKs send max_completion_tokens; it wins over the deprecated max_tokens.
    caps = [_positive_int(body, name) for name in ("max_completion_tokens", "max_tokens")]
    return next((cap for cap in caps if cap is not None), None)


def _positive_int(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(name, f"Invalid type for '{name}': expected an integer.", "invalid_type")
    if value < 1:
        raise invalid(name, f"Invalid '{name}': integer below minimum value. Expected a value >= 1, "
                            f"but got {value} instead.", "integer_below_min_value")
    return value


def _optional_bool(container: dict, name: str, param: str) -> bool:
    value = container.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(param, f"Invalid type for '{param}': expected a boolean.", "invalid_type")
    return value


def _include_usage(body: dict, stream: bool) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    # OpenAI rejects stream_options on a non-streaming request; so do we, so the gateway cannot rely on it.
    if not stream:
        raise invalid("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
    if not isinstance(options, dict):
        raise invalid("stream_options", "Invalid type for 'stream_options': expected an object.", "invalid_type")
    return _optional_bool(options, "include_usage", "stream_options.include_usage")
