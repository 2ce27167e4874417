"""MiniMax's image and video APIs in OpenAI's terms: requests out, answers back, failures as ours."""
import json

import pytest

from plugins import minimax_media
from plugins.context import Reject


def _raw(body: dict, code: int = 0, message: str = "success") -> bytes:
    return json.dumps({**body, "base_resp": {"status_code": code, "status_msg": message}}).encode()


def _request(**fields) -> dict:
    return {"prompt": "a cute cat", "n": 1, "size": "1024x1024", "response_format": "url"} | fields


def test_image_request_maps_size_to_aspect_ratio_and_b64_json_to_base64():
    body = minimax_media.image_request(_request(size="1280x720", n=3, response_format="b64_json"), "image-01")
    assert body == {"model": "image-01", "prompt": "a cute cat", "n": 3, "response_format": "base64",
                    "aspect_ratio": "16:9"}


def test_image_request_sends_other_sizes_as_width_and_height():
    body = minimax_media.image_request(_request(size="1024x768"), "image-01")
    assert (body["width"], body["height"]) == (1024, 768) and "aspect_ratio" not in body


def test_image_response_urls_become_openai_data():
    body = minimax_media.read(_raw({"id": "x", "data": {"image_urls": ["https://a/1.png", "https://a/2.png"]}}))
    assert minimax_media.image_response(body, 1700000000) == {
        "created": 1700000000, "data": [{"url": "https://a/1.png"}, {"url": "https://a/2.png"}]}


def test_image_response_base64_becomes_b64_json():
    body = minimax_media.read(_raw({"id": "x", "data": {"image_base64": ["QUJD"]}}))
    assert minimax_media.image_response(body, 1)["data"] == [{"b64_json": "QUJD"}]


def test_image_response_without_images_is_a_bad_gateway():
    with pytest.raises(Reject) as raised:
        minimax_media.image_response(minimax_media.read(_raw({"id": "x", "data": None})), 1)
    assert raised.value.status == 502


@pytest.mark.parametrize("code, status, error", [(1026, 400, "content_policy_violation"), (2013, 400, "invalid_value"),
                                                 (1002, 429, "rate_limit_exceeded"), (1004, 502, "upstream_error"),
                                                 (1000, 502, "upstream_error")])
def test_a_non_zero_base_resp_is_our_error(code, status, error):
    with pytest.raises(Reject) as raised:
        minimax_media.read(_raw({}, code, "nope"))
    assert (raised.value.status, raised.value.code) == (status, error) and "nope" in raised.value.message


def test_an_answer_that_is_not_json_is_a_bad_gateway():
    with pytest.raises(Reject) as raised:
        minimax_media.read(b"<html>")
    assert raised.value.status == 502


@pytest.mark.parametrize("minimax, ours", [("Preparing", "queued"), ("Queueing", "queued"),
                                           ("Processing", "in_progress"), ("Fail", "failed")])
def test_video_statuses_map_to_openai_style_ones(minimax, ours):
    assert minimax_media.video_status({"status": minimax, "file_id": ""})[0] == ours


def test_a_successful_video_is_completed_with_its_file_id():
    assert minimax_media.video_status({"status": "Success", "file_id": 3617}) == ("completed", "3617", None)


def test_a_failed_video_keeps_the_providers_reason():
    assert minimax_media.video_status({"status": "Fail", "error_message": "too dark"}) == ("failed", None, "too dark")


@pytest.mark.parametrize("body", [{"status": "Success", "file_id": ""}, {"status": "Rendering"}])
def test_an_unknown_status_or_a_success_without_a_file_is_a_bad_gateway(body):
    with pytest.raises(Reject) as raised:
        minimax_media.video_status(body)
    assert raised.value.status == 502


def test_video_request_names_the_upstream_model():
    assert minimax_media.video_request({"model": "minimax-hailuo-2.3", "prompt": "p"}, "MiniMax-Hailuo-2.3") == {
        "model": "MiniMax-Hailuo-2.3", "prompt": "p"}


def test_task_id_and_download_url_are_read_from_the_answers():
    assert minimax_media.task_id({"task_id": "106916112212032"}) == "106916112212032"
    assert minimax_media.download_url({"file": {"file_id": 1, "download_url": "https://cdn/v.mp4"}}) == "https://cdn/v.mp4"
    with pytest.raises(Reject):
        minimax_media.task_id({})
