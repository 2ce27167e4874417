"""JSON from clients, read strictly: what Python's json accepts but no provider, database or encoder
downstream will (NaN, 1e999, a lone UTF-16 surrogate, nesting a thousand deep, 5,000-digit numbers)
is refused here, as a parse error, instead of failing later as a 5xx.

The sidecar (plugins.json_body) and the control plane (control_plane.requests) each turn the
refusal into their OpenAI-shaped 400.
"""
import json
import math
from decimal import Decimal

MAX_DEPTH = 100  # arrays and objects inside each other; JSON Schemas in `tools` stay far below it


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


def loads(raw: bytes, syntax_detail: str | None = None, allow_nul: bool = True, exact_numbers: bool = False):
    """The decoded value, or UnreadableJson. `syntax_detail` replaces the parser's own description
    of a syntax error (line and column) when the caller prefers a fixed wording; without `allow_nul`,
    a string holding U+0000 (which PostgreSQL cannot store, as text or in jsonb) is refused too.
    With `exact_numbers`, numbers with a fraction or exponent are Decimals read from the text (money),
    whatever their size: the caller bounds them."""
    try:
        # Decoded here, strictly: json.loads would decode bytes with "surrogatepass", letting the
        # UTF-8 form of a lone surrogate (ED A0 80) through.
        encoding = json.detect_encoding(raw)
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise UnreadableJson("the body is not valid UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=Decimal if exact_numbers else _finite)
    except UnreadableJson:
        raise
    except json.JSONDecodeError as exc:
        raise UnreadableJson(syntax_detail or f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        raise UnreadableJson("a number has too many digits") from None
    except RecursionError:
        raise UnreadableJson(f"arrays and objects are nested more than {MAX_DEPTH} deep") from None
    _walk(value, allow_nul)
    return value


def _walk(value, allow_nul: bool) -> None:
    """Depth, lone surrogates and (unless allowed) NULs, without recursion (the depth is what is
    checked). Walking the parsed value is cheaper than any scan of a large body's bytes."""
    _check_text(value, allow_nul)
    pending = [(value, 1)] if isinstance(value, (dict, list)) else []
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise UnreadableJson(f"arrays and objects are nested more than {MAX_DEPTH} deep")
        children = [*item, *item.values()] if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, str):
                _check_text(child, allow_nul)
            elif isinstance(child, (dict, list)):
                pending.append((child, depth + 1))


def _check_text(value, allow_nul: bool) -> None:
    if not isinstance(value, str):
        return
    # Strict decoding let no raw surrogate in, so only an escape (\ud800) can have made one. ASCII
    # text (the usual) holds none, and says so without a scan.
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UnreadableJson("a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)") from None
    if not allow_nul and "\0" in value:
        raise UnreadableJson("a string holds a NUL character (\\u0000)")
