"""Validating an OpenAI chat-completions request body the way OpenAI does, with the same errors."""
from plugins import json_body
from plugins.json_body import invalid

MAX_TOKEN_LIMIT = 2 ** 31 - 1  # OpenAI's own upper bound for max_tokens
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def parse(body: bytes) -> dict:
    request = json_body.parse(body)
    _check_messages(request.get("messages"))
    _check_options(request)
    return request


def _check_messages(messages) -> None:
    if messages is None:
        raise invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise invalid("Invalid 'messages': expected a non-empty array of messages.", "messages", "invalid_type")
    for i, message in enumerate(messages):
        # A role that is not a string (`{}`, `[]`) is refused before the set lookup it cannot take part in.
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) or message["role"] not in ROLES:
            raise invalid(f"Invalid 'messages[{i}]': each message needs a 'role' of {sorted(ROLES)}.",
                          f"messages[{i}].role")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise invalid(f"Invalid 'messages[{i}].content': expected a string or an array of parts.",
                          f"messages[{i}].content", "invalid_type")


def _check_options(request: dict) -> None:
    if not isinstance(request.get("stream", False), bool):
        raise invalid("Invalid type for 'stream': expected a boolean.", "stream", "invalid_type")
    if not isinstance(request.get("stream_options") or {}, dict):
        raise invalid("Invalid type for 'stream_options': expected an object.", "stream_options", "invalid_type")
    for name in ("max_tokens", "max_completion_tokens"):
        _check_token_limit(request.get(name), name)


def _check_token_limit(value, name: str) -> None:
    # Bounded like OpenAI's: quota reservations and counters add it up, and must stay integers.
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"Invalid type for '{name}': expected an integer.", name, "invalid_type")
    if value < 1:
        raise invalid(f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {value} "
                      "instead.", name, "integer_below_min_value")
    if value > MAX_TOKEN_LIMIT:
        shown = value if value < 10 ** 30 else f"a number of {len(str(value))} digits"
        raise invalid(f"Invalid '{name}': integer above maximum value. Expected a value <= {MAX_TOKEN_LIMIT}, "
                      f"but got {shown} instead.", name, "integer_above_max_value")
