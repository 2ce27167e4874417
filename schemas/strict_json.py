"""JSON from clients, read strictly: what Python's json accepts but no provider, database or encoder
downstream will (NaN, 1e999, a lone UTF-16 surrogate, nesting a thousand deep, 5,000-digit numbers)
is refused here, as a parse error, instead of failing later as a 5xx.

The sidecar (plugins.json_body) and the control plane (control_plane.requests) each turn the
refusal into their OpenAI-shaped 400.
"""
import json
import math
import re

MAX_DEPTH = 100  # arrays and objects inside each other; JSON Schemas in `tools` stay far below it
# \ud800-\udfff written as an escape: only then can a decoded string hold a surrogate (the body is
# decoded strictly, so raw ones fail there), and bodies without one skip the walk below.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # a valid escaped pair decodes to one character: this is a lone one
_NUL_ESCAPE = re.compile(r"\\u0000")  # raw control characters are a syntax error already
_SURROGATE_OR_NUL = re.compile("[\0\ud800-\udfff]")


class UnreadableJson(ValueError):
    """The body is not JSON we accept; `detail` says why, in words fit for the client."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def _constant(name: str):
    raise UnreadableJson(f"{name} is not a valid JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnreadableJson(f"the number {text[:20]} is out of range")
    return value


def loads(raw: bytes, syntax_detail: str | None = None, allow_nul: bool = True):
    """The decoded value, or UnreadableJson. `syntax_detail` replaces the parser's own description
    of a syntax error (line and column) when the caller prefers a fixed wording; without `allow_nul`,
    a string holding U+0000 (which PostgreSQL cannot store, as text or in jsonb) is refused too."""
    try:
        # Decoded here, strictly: json.loads would decode bytes with "surrogatepass", letting the
        # UTF-8 form of a lone surrogate (ED A0 80) through.
        text = raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError:
        raise UnreadableJson("the body is not valid UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_finite)
    except UnreadableJson:
        raise
    except json.JSONDecodeError as exc:
        raise UnreadableJson(syntax_detail or f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        raise UnreadableJson("a number has too many digits") from None
    except RecursionError:
        raise UnreadableJson(f"arrays and objects are nested more than {MAX_DEPTH} deep") from None
    _check(text, value, allow_nul)
    return value


def _check(text: str, value, allow_nul: bool) -> None:
    # Cheap bounds first: most bodies have few brackets and no surrogate or NUL escape, and skip the walk.
    nul = not allow_nul and _NUL_ESCAPE.search(text) is not None
    if nul or text.count("[") + text.count("{") > MAX_DEPTH or _SURROGATE_ESCAPE.search(text):
        _walk(value, _SURROGATE_OR_NUL if nul else _SURROGATE)


def _walk(value, refused: re.Pattern) -> None:
    """Depth and `refused` characters, without recursion (the depth is what is being checked)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            found = refused.search(item)
            if found and found.group() == "\0":
                raise UnreadableJson("a string holds a NUL character (\\u0000)")
            if found:
                raise UnreadableJson("a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise UnreadableJson(f"arrays and objects are nested more than {MAX_DEPTH} deep")
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children)
