"""An OpenAI request's JSON body: an object naming its model, or the 400 OpenAI answers instead."""
from plugins.context import Reject
from schemas import strict_json


def invalid(message: str, param: str | None, code: str | None = "invalid_value") -> Reject:
    """OpenAI's 400 invalid_request_error, naming the parameter at fault."""
    return Reject(400, message, code, param=param, reason="invalid_request")


def parse(body: bytes) -> dict:
    """The JSON body, an object with a non-empty string `model`."""
    try:
        request = strict_json.loads(body, syntax_detail="expected a JSON object")
    except strict_json.UnreadableJson as exc:
        raise invalid(f"We could not parse the JSON body of your request: {exc.detail}.", None,
                      "invalid_json") from None
    if not isinstance(request, dict):
        raise invalid("The request body must be a JSON object.", None, "invalid_json")
    model = request.get("model")
    if model is None:
        raise invalid("You must provide a model parameter.", "model", "missing_required_parameter")
    if not isinstance(model, str) or not model:
        raise invalid("Invalid type for 'model': expected a non-empty string.", "model", "invalid_type")
    return request
