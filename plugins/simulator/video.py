"""MiniMax's asynchronous video API:

- `POST /{provider}/v1/video_generation` → `{"task_id", "base_resp"}`;
- `GET /{provider}/v1/query/video_generation?task_id=` → `{"task_id", "status", "file_id", ...}`;
  the status goes Queueing, Processing, ... and turns `Success` (with a `file_id`) on the query after
  the task's number of polls (`x-sim-video-polls` on the creation, default 2), or `Fail` with
  `x-sim-video-outcome: Fail`;
- `GET /{provider}/v1/files/retrieve?file_id=` → `{"file": {"file_id", "download_url", ...}}`, a
  sim.invalid URL (never fetched).

Each call is a ledger entry: `api` "video", "video_query" or "files".
"""
import time
import uuid

from aiohttp import web

from plugins.simulator.errors import ApiError, invalid
from plugins.simulator.images import injected_failure, read_minimax_call
from plugins.simulator.ledger import key_fingerprint
from plugins.simulator.minimax import MiniMaxError, check_key, forced_failure, invalid_params, ok
from plugins.simulator.state import STATE, SimState
from plugins.simulator.video_tasks import VideoTask

MAX_PROMPT = 2000
MAX_POLLS = 1000
OUTCOMES = ("Success", "Fail")


def _number() -> str:
    return str(uuid.uuid4().int % 10**15).rjust(15, "1")  # MiniMax's ids are long decimal numbers


def _entry(request: web.Request, api: str, key: str, received_at: float, **fields) -> dict:
    return {"id": None, "api": api, "provider": request.match_info["provider"], "path": request.path,
            "model": None, "status": 200, "key_sha256": key_fingerprint(key), "received_at": received_at} | fields


def _task_options(headers, default_polls: int) -> tuple[int, str]:
    raw_polls, outcome = headers.get("x-sim-video-polls"), headers.get("x-sim-video-outcome", "Success")
    if raw_polls is not None and (not raw_polls.strip().isdigit() or int(raw_polls) > MAX_POLLS):
        raise invalid("x-sim-video-polls", f"Header 'x-sim-video-polls' must be 0 to {MAX_POLLS}.", "invalid_value")
    if outcome not in OUTCOMES:
        raise invalid("x-sim-video-outcome", f"Header 'x-sim-video-outcome' must be one of {list(OUTCOMES)}.",
                      "invalid_value")
    return (default_polls if raw_polls is None else int(raw_polls)), outcome


async def handle_create(request: web.Request) -> web.Response:
    state: SimState = request.app[STATE]
    received_at = time.time()
    try:
        key, body, options = await read_minimax_call(request)
        polls, outcome = _task_options(request.headers, state.defaults.video_polls)
    except (ApiError, MiniMaxError) as error:
        return error.response()
    model = body.get("model") if isinstance(body, dict) else None
    entry = _entry(request, "video", key, received_at, model=model)
    failure = await injected_failure(state, options, entry, str(model))
    if failure is not None:
        return failure
    try:
        _check_create(body, request.headers)
    except MiniMaxError as error:
        state.ledger.record(entry | {"base_status": error.code})
        return error.response()
    task = VideoTask(_number(), entry["provider"], model, polls, outcome, _number(), int(received_at))
    state.videos.add(task)
    state.ledger.record(entry | {"id": task.task_id, "base_status": 0})
    return ok({"task_id": task.task_id})


def _check_create(body, headers) -> None:
    forced = forced_failure(headers)
    if forced is not None:
        raise forced
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        raise invalid_params("model is required")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt or len(prompt) > MAX_PROMPT:
        raise invalid_params(f"prompt must be 1 to {MAX_PROMPT} characters")


def _answer_for_task(request: web.Request, api: str, param: str, find, answer) -> web.Response:
    """The answer to a query naming a task by `param` (looked up with `find`), recorded in the ledger.
    `answer(task)` gives the ledger fields and body for a task found; an unknown name is MiniMax's invalid params."""
    state: SimState = request.app[STATE]
    try:
        key = check_key(request.headers)
    except MiniMaxError as error:
        return error.response()
    name = request.query.get(param, "")
    task = find(name)
    entry = _entry(request, api, key, time.time(), id=name, model=task.model if task else None)
    if task is None:
        error = invalid_params(f"{param} not found")
        state.ledger.record(entry | {"base_status": error.code})
        return error.response()
    fields, body = answer(task)
    state.ledger.record(entry | {"base_status": 0} | fields)
    return ok(body)


async def handle_query(request: web.Request) -> web.Response:
    return _answer_for_task(request, "video_query", "task_id", request.app[STATE].videos.task, _status)


def _status(task: VideoTask) -> tuple[dict, dict]:
    status = task.advance()
    answer = {"task_id": task.task_id, "status": status, "file_id": task.file_id if status == "Success" else ""}
    if status == "Success":
        answer.update(video_width=1366, video_height=768)
    elif status == "Fail":
        answer["error_message"] = "Simulated generation failure."
    return {"task_status": status}, answer


async def handle_file(request: web.Request) -> web.Response:
    return _answer_for_task(request, "files", "file_id", request.app[STATE].videos.file, _file)


def _file(task: VideoTask) -> tuple[dict, dict]:
    return {}, {"file": {"file_id": int(task.file_id), "bytes": 1048576, "created_at": task.created,
                         "filename": "output.mp4", "purpose": "video_generation",
                         "download_url": f"https://sim.invalid/{task.provider}/files/{task.file_id}/output.mp4"}}
