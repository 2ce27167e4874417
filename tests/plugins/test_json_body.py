"""An OpenAI request body read as OpenAI reads it: a JSON object naming its model, or a 400 saying what is wrong."""
import pytest

from plugins import json_body
from plugins.context import Reject
from schemas.errors import error_body


def _rejection(body: bytes) -> dict:
    with pytest.raises(Reject) as raised:
        json_body.parse(body)
    reject = raised.value
    assert reject.status == 400 and reject.reason == "invalid_request"
    return error_body(reject.status, reject.message, reject.code, reject.param, reject.type)["error"]


def test_an_object_naming_a_model_comes_back_whole():
    assert json_body.parse(b'{"model": "m", "prompt": "a cat", "n": 2}') == {"model": "m", "prompt": "a cat", "n": 2}


@pytest.mark.parametrize("body", [b"{", b"not json"])
def test_a_body_that_is_not_json_is_an_invalid_json_error(body):
    assert _rejection(body) == {"message": "We could not parse the JSON body of your request: expected a JSON object.",
                                "type": "invalid_request_error", "param": None, "code": "invalid_json"}


def test_json_that_is_not_an_object_is_an_invalid_json_error():
    assert _rejection(b'["model"]')["message"] == "The request body must be a JSON object."


def test_a_missing_model_is_named_as_a_missing_required_parameter():
    assert _rejection(b'{"prompt": "a cat"}') == {"message": "You must provide a model parameter.",
                                                  "type": "invalid_request_error", "param": "model",
                                                  "code": "missing_required_parameter"}


@pytest.mark.parametrize("body", [b'{"model": ""}', b'{"model": 3}', b'{"model": ["m"]}'])
def test_a_model_that_is_not_a_non_empty_string_is_an_invalid_type(body):
    error = _rejection(body)
    assert (error["param"], error["code"]) == ("model", "invalid_type")


def test_other_rejections_default_to_invalid_value():
    reject = json_body.invalid("Invalid 'n': expected a positive integer.", "n")
    assert (reject.status, reject.code, reject.param, reject.reason) == (400, "invalid_value", "n", "invalid_request")


@pytest.mark.parametrize(("body", "detail"), [
    (b'{"model": "\xff"}', "the body is not valid UTF-8 text"),
    (b'{"model": "m", "temperature": NaN}', "NaN is not a valid JSON number"),
    (b'{"model": "m", "temperature": -Infinity}', "-Infinity is not a valid JSON number"),
    (b'{"model": "m", "temperature": 1e999}', "the number 1e999 is out of range"),
    (b'{"model": "m", "n": ' + b"7" * 5000 + b"}", "a number has too many digits"),
    (b'{"model": "m", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "arrays and objects are nested more than 100 deep"),
    (b'{"model": "m", "x": ' + b"[" * 150 + b"]" * 150 + b"}", "arrays and objects are nested more than 100 deep"),
    (b'{"model": "\\ud800"}', "a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)"),
    (b'{"model": "\xed\xa0\x80"}', "the body is not valid UTF-8 text"),  # a surrogate in UTF-8 form
    (b'{"model": "m", "\\uDC00": 1}', "a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)"),
])
def test_json_that_python_accepts_but_no_provider_would_is_an_invalid_json_error(body, detail):
    error = _rejection(body)
    assert (error["code"], error["param"]) == ("invalid_json", None)
    assert error["message"] == f"We could not parse the JSON body of your request: {detail}."


def test_a_surrogate_pair_and_moderate_nesting_are_accepted():
    body = b'{"model": "m", "content": "\\ud83d\\ude00", "x": ' + b"[" * 90 + b"]" * 90 + b"}"
    assert json_body.parse(body)["content"] == "\U0001F600"
