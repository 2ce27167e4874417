"""Validating an OpenAI chat-completions request body the way OpenAI does, with the same errors."""
from plugins import json_body
from plugins.json_body import invalid

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
        if not isinstance(message, dict) or message.get("role") not in ROLES:
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
        value = request.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise invalid(f"Invalid '{name}': expected a positive integer.", name)
