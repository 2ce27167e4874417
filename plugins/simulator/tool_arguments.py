"""The arguments of a simulated tool call, built from the function's `parameters` JSON Schema: deterministic,
and valid for the schema as far as placeholders of the right type make it so."""
import hashlib
import json

PLACEHOLDERS = {"string": "example", "integer": 1, "number": 1.5, "boolean": True, "null": None}
MAX_DEPTH = 8  # a recursive or absurdly deep schema still gets finite arguments


def arguments(function: dict) -> str:
    """The call's arguments: a JSON object filling the schema's required properties (all of them when it
    names none) with placeholders of their type. Compact, as the models emit it."""
    value = placeholder(function.get("parameters") or {"type": "object"}, 0)
    return json.dumps(value if isinstance(value, dict) else {}, separators=(",", ":"), ensure_ascii=False)


def placeholder(schema, depth: int):
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(combinator), list) and schema[combinator]:
            return placeholder(schema[combinator][0], depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):  # ["string", "null"]: the first type that is not null
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return _object(schema, depth)
    if kind == "array":
        return [placeholder(schema.get("items", {}), depth + 1)] if schema.get("minItems", 1) else []
    if kind in ("integer", "number") and isinstance(schema.get("minimum"), (int, float)):
        return schema["minimum"]
    return PLACEHOLDERS.get(kind, "example")


def _object(schema: dict, depth: int) -> dict:
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = schema.get("required") if isinstance(schema.get("required"), list) else list(properties)
    return {name: placeholder(properties.get(name, {}), depth + 1) for name in required if isinstance(name, str)}


def call_id(seed: int, name: str) -> str:
    """`call_` and 24 characters, as OpenAI's; derived from the request, so the same request gets the same id."""
    return "call_" + hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:24]
