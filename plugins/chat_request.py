"""Validating an OpenAI chat-completions request body the way OpenAI does, with the same errors."""
import json

from plugins.context import Reject

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def _invalid(message: str, param: str | None, code: str | None = "invalid_value") -> Reject:
    return Reject(400, message, code, param=param, reason="invalid_request")


def parse(body: bytes) -> dict:
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _invalid("We could not parse the JSON body of your request: expected a JSON object.", None,
                       "invalid_json") from None
    if not isinstance(request, dict):
        raise _invalid("The request body must be a JSON object.", None, "invalid_json")
    _check_model(request.get("model"))
    _check_messages(request.get("messages"))
    _check_options(request)
    return request


def _check_model(model) -> None:
    if model is None:
        raise _invalid("You must provide a model parameter.", "model", "missing_required_parameter")
    if not isinstance(model, str) or not model:
        raise _invalid("Invalid type for 'model': expected a non-empty string.", "model", "invalid_type")


def _check_messages(messages) -> None:
    if messages is None:
        raise _invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise _invalid("Invalid 'messages': expected a non-empty array of messages.", "messages", "invalid_type")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise _invalid(f"Invalid 'messages[{i}]': each message needs a 'role' of {sorted(ROLES)}.",
                           f"messages[{i}].role")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise _invalid(f"Invalid 'messages[{i}].content': expected a string or an array of parts.",
                           f"messages[{i}].content", "invalid_type")


def _check_options(request: dict) -> None:
    if not isinstance(request.get("stream", False), bool):
        raise _invalid("Invalid type for 'stream': expected a boolean.", "stream", "invalid_type")
    if not isinstance(request.get("stream_options") or {}, dict):
        raise _invalid("Invalid type for 'stream_options': expected an object.", "stream_options", "invalid_type")
    for name in ("max_tokens", "max_completion_tokens"):
        value = request.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise _invalid(f"Invalid '{name}': expected a positive integer.", name)
