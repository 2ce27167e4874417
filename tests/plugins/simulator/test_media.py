"""OpenAI's images API and MiniMax's image and video APIs, as the simulator plays them."""
import base64

from plugins.simulator.images import PNG_1X1
from plugins.simulator.video_tasks import VideoTask, VideoTasks
from tests.plugins.simulator.conftest import KEY

AUTH = {"Authorization": f"Bearer {KEY}"}


async def _post(sim, path: str, body: dict, headers=None):
    resp = await sim.post(path, json=body, headers=AUTH | (headers or {}))
    return resp.status, await resp.json()


async def _get(sim, path: str, **query):
    resp = await sim.get(path, params=query, headers=AUTH)
    return resp.status, await resp.json()


async def _ledger(sim, **query) -> list:
    return (await (await sim.get("/_sim/ledger", params=query)).json())["data"]


# --- OpenAI images -----------------------------------------------------------------------------

async def test_openai_images_answer_urls_with_the_revised_prompt_and_are_in_the_ledger(sim):
    status, body = await _post(sim, "/openai/v1/images/generations", {"model": "dall-e-3", "prompt": "a cat"})
    [entry] = await _ledger(sim, api="images")
    assert status == 200 and isinstance(body["created"], int)
    assert body["data"] == [{"url": f"https://sim.invalid/openai/images/{entry['id']}/0.png",
                             "revised_prompt": "a cat"}]
    assert (entry["model"], entry["images"], entry["status"], entry["prompt"]) == ("dall-e-3", 1, 200, "a cat")


async def test_openai_images_answer_base64_when_asked(sim):
    _, body = await _post(sim, "/openai/v1/images/generations",
                          {"model": "gpt-image-x", "prompt": "a cat", "n": 2, "response_format": "b64_json"})
    assert [image["b64_json"] for image in body["data"]] == [PNG_1X1, PNG_1X1]
    assert base64.b64decode(PNG_1X1).startswith(b"\x89PNG")


async def test_dall_e_3_makes_one_image_per_request(sim):
    status, body = await _post(sim, "/openai/v1/images/generations", {"model": "dall-e-3", "prompt": "x", "n": 2})
    assert status == 400 and body["error"]["param"] == "n"


async def test_openai_images_refuse_an_unknown_response_format(sim):
    status, body = await _post(sim, "/openai/v1/images/generations",
                               {"model": "dall-e-3", "prompt": "x", "response_format": "png"})
    assert status == 400 and body["error"]["param"] == "response_format"


async def test_openai_images_honour_injected_faults(sim):
    status, _ = await _post(sim, "/openai/v1/images/generations", {"model": "dall-e-3", "prompt": "x"},
                            {"x-sim-status": "503"})
    [entry] = await _ledger(sim, api="images")
    assert status == 503 and entry["status"] == 503 and entry["images"] == 0


# --- MiniMax image -----------------------------------------------------------------------------

async def test_minimax_image_answers_in_minimax_shape(sim):
    status, body = await _post(sim, "/minimax/v1/image_generation",
                               {"model": "image-01", "prompt": "a cat", "aspect_ratio": "16:9", "n": 3})
    [entry] = await _ledger(sim, api="image")
    assert status == 200 and body["base_resp"] == {"status_code": 0, "status_msg": "success"}
    assert body["data"]["image_urls"] == [f"https://sim.invalid/minimax/images/{body['id']}/{i}.png" for i in range(3)]
    assert body["metadata"] == {"success_count": "3", "failed_count": "0"}
    assert (entry["id"], entry["images"], entry["base_status"]) == (body["id"], 3, 0)


async def test_minimax_image_answers_base64_when_asked(sim):
    _, body = await _post(sim, "/minimax/v1/image_generation",
                          {"model": "image-01", "prompt": "a cat", "response_format": "base64"})
    assert body["data"] == {"image_base64": [PNG_1X1]}


async def test_minimax_image_reports_invalid_params_in_base_resp_with_http_200(sim):
    status, body = await _post(sim, "/minimax/v1/image_generation",
                               {"model": "image-01", "prompt": "a cat", "aspect_ratio": "5:4"})
    assert status == 200 and body["base_resp"]["status_code"] == 2013 and "data" not in body


async def test_minimax_image_can_be_told_to_fail_with_a_given_status(sim):
    _, body = await _post(sim, "/minimax/v1/image_generation", {"model": "image-01", "prompt": "x"},
                          {"x-sim-base-status": "1026"})
    [entry] = await _ledger(sim, api="image")
    assert body["base_resp"]["status_code"] == 1026 and entry["base_status"] == 1026 and entry["images"] == 0


async def test_minimax_without_a_key_is_a_login_failure(sim):
    resp = await sim.post("/minimax/v1/image_generation", json={"model": "image-01", "prompt": "x"})
    assert resp.status == 200 and (await resp.json())["base_resp"]["status_code"] == 1004


# --- MiniMax video -----------------------------------------------------------------------------

async def _create_video(sim, **headers) -> str:
    status, body = await _post(sim, "/minimax/v1/video_generation",
                               {"model": "MiniMax-Hailuo-2.3", "prompt": "a cat walking"}, headers)
    assert status == 200 and body["base_resp"]["status_code"] == 0
    return body["task_id"]


async def test_video_task_progresses_to_success_after_the_default_two_polls(sim):
    task_id = await _create_video(sim)
    answers = [(await _get(sim, "/minimax/v1/query/video_generation", task_id=task_id))[1] for _ in range(3)]
    assert [a["status"] for a in answers] == ["Queueing", "Processing", "Success"]
    assert answers[0]["file_id"] == "" and answers[2]["file_id"].isdigit()
    _, file = await _get(sim, "/minimax/v1/files/retrieve", file_id=answers[2]["file_id"])
    assert file["file"]["download_url"] == f"https://sim.invalid/minimax/files/{answers[2]['file_id']}/output.mp4"
    assert file["file"]["file_id"] == int(answers[2]["file_id"])


async def test_video_polls_and_outcome_are_set_per_task_by_header(sim):
    task_id = await _create_video(sim, **{"x-sim-video-polls": "0", "x-sim-video-outcome": "Fail"})
    _, answer = await _get(sim, "/minimax/v1/query/video_generation", task_id=task_id)
    assert answer["status"] == "Fail" and answer["error_message"] and answer["file_id"] == ""


async def test_video_calls_are_in_the_ledger_by_api(sim):
    task_id = await _create_video(sim, **{"x-sim-video-polls": "0"})
    _, answer = await _get(sim, "/minimax/v1/query/video_generation", task_id=task_id)
    await _get(sim, "/minimax/v1/files/retrieve", file_id=answer["file_id"])
    assert [e["id"] for e in await _ledger(sim, api="video")] == [task_id]
    assert [e["task_status"] for e in await _ledger(sim, api="video_query")] == ["Success"]
    assert [e["id"] for e in await _ledger(sim, api="files")] == [answer["file_id"]]
    assert {e["model"] for e in await _ledger(sim, provider="minimax")} == {"MiniMax-Hailuo-2.3"}


async def test_unknown_task_and_unfinished_file_are_invalid_params(sim):
    task_id = await _create_video(sim)
    _, answer = await _get(sim, "/minimax/v1/query/video_generation", task_id="123")
    assert answer["base_resp"]["status_code"] == 2013
    _, queued = await _get(sim, "/minimax/v1/query/video_generation", task_id=task_id)
    _, file = await _get(sim, "/minimax/v1/files/retrieve", file_id="999")
    assert queued["status"] == "Queueing" and file["base_resp"]["status_code"] == 2013


async def test_video_prompt_is_required(sim):
    _, body = await _post(sim, "/minimax/v1/video_generation", {"model": "MiniMax-Hailuo-2.3"})
    assert body["base_resp"]["status_code"] == 2013 and "task_id" not in body


def test_video_tasks_forget_the_oldest_beyond_the_cap():
    tasks = VideoTasks(max_tasks=2)
    for index in range(3):
        tasks.add(VideoTask(str(index), "minimax", "m", 0, "Success", f"f{index}", 0))
    assert tasks.task("0") is None and tasks.task("2") is not None
