"""Reading client JSON strictly: what Python accepts but nothing downstream can use is refused."""
import pytest

from schemas.strict_json import MAX_DEPTH, UnreadableJson, loads


def _detail(raw: bytes, **options) -> str:
    with pytest.raises(UnreadableJson) as raised:
        loads(raw, **options)
    return raised.value.detail


def test_nul_in_a_string_is_kept_unless_refused():
    assert loads(b'{"a": "x\\u0000y"}') == {"a": "x\0y"}
    assert _detail(b'{"a": ["x\\u0000y"]}', allow_nul=False) == "a string holds a NUL character (\\u0000)"
    assert _detail(b'{"\\u0000": 1}', allow_nul=False) == "a string holds a NUL character (\\u0000)"


def test_an_escaped_backslash_before_u0000_is_no_nul():
    assert loads(b'{"a": "\\\\u0000"}', allow_nul=False) == {"a": "\\u0000"}


def test_utf16_with_a_bom_is_read_and_its_lone_surrogates_refused():
    assert loads('{"a": "x"}'.encode("utf-16")) == {"a": "x"}
    assert "surrogate" in _detail('{"a": "\\ud800"}'.encode("utf-16"))


def test_nesting_up_to_the_limit_is_accepted():
    assert loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    assert "nested" in _detail(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))


def test_a_syntax_error_names_its_place_unless_told_otherwise():
    assert _detail(b'{"a": }') == "Expecting value at line 1 column 7"
    assert _detail(b'{"a": }', syntax_detail="expected a JSON object") == "expected a JSON object"
