"""Image and video requests judged as OpenAI judges them, against what gateway.yaml says each model can do."""
import pytest

from plugins import media_request
from plugins.context import Reject

DALL_E_3 = {"sizes": ["1024x1024", "1792x1024", "1024x1792"], "max_images": 1}
MINIMAX = {"sizes": ["1024x1024", "1280x720"], "max_images": 9}


def _rejected(call, *args) -> Reject:
    with pytest.raises(Reject) as raised:
        call(*args)
    return raised.value


def test_defaults_are_filled_in():
    checked = media_request.check_image({"model": "m", "prompt": "a cat"}, "m", MINIMAX)
    assert (checked["n"], checked["size"], checked["response_format"]) == (1, "1024x1024", "url")


@pytest.mark.parametrize("fields, param", [
    ({}, "prompt"), ({"prompt": ""}, "prompt"), ({"prompt": "x" * 4001}, "prompt"),
    ({"n": 0}, "n"), ({"n": 10}, "n"), ({"n": "2"}, "n"), ({"n": True}, "n"),
    ({"size": "512x512"}, "size"), ({"response_format": "png"}, "response_format"), ({"stream": True}, "stream"),
    ({"stream": 0}, "stream"), ({"stream": 0.0}, "stream"),
])
def test_each_bad_image_parameter_is_a_400_naming_it(fields, param):
    request = {"model": "m", "prompt": "a cat"} | fields
    if fields == {}:
        request.pop("prompt")
    reject = _rejected(media_request.check_image, request, "minimax-image-01", MINIMAX)
    assert (reject.status, reject.param) == (400, param)


def test_dall_e_3_takes_one_image_per_request():
    reject = _rejected(media_request.check_image, {"prompt": "x", "n": 2}, "dall-e-3", DALL_E_3)
    assert reject.param == "n" and "at most 1 image per request" in reject.message


def test_a_4000_character_prompt_is_accepted():
    assert media_request.check_image({"prompt": "x" * 4000}, "m", MINIMAX)["n"] == 1


@pytest.mark.parametrize("body, param, code", [(b"{", None, "invalid_json"), (b"[]", None, "invalid_json"),
                                               (b"{}", "model", "missing_required_parameter"),
                                               (b'{"model": 3}', "model", "invalid_type")])
def test_body_and_model_are_checked_first(body, param, code):
    reject = _rejected(media_request.parse, body)
    assert (reject.status, reject.param, reject.code) == (400, param, code)


def test_video_takes_only_model_and_prompt():
    reject = _rejected(media_request.check_video, {"model": "m", "prompt": "p", "duration": 10})
    assert (reject.param, reject.code) == ("duration", "unknown_parameter")
    assert _rejected(media_request.check_video, {"model": "m", "prompt": "x" * 2001}).param == "prompt"
