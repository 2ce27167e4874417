"""MiniMax's image and video APIs in OpenAI's terms: the request MiniMax wants for an OpenAI-shaped
one, and MiniMax's answers read back for OpenAI-shaped replies.

MiniMax answers most failures with HTTP 200 and a non-zero `base_resp.status_code`; `read` turns
those into our errors.
"""
import json

from plugins.context import Reject

# MiniMax's image-01 takes these ratios; any other size goes as width and height.
ASPECT_RATIOS = {"1024x1024": "1:1", "1280x720": "16:9", "720x1280": "9:16", "1152x864": "4:3",
                 "864x1152": "3:4", "1248x832": "3:2", "832x1248": "2:3", "1344x576": "21:9"}
VIDEO_STATUSES = {"Preparing": "queued", "Queueing": "queued", "Processing": "in_progress",
                  "Success": "completed", "Fail": "failed"}
RATE_LIMITED = {1002, 1039}
REFUSED = {1026, 1027}   # sensitive content in the prompt or the output
INVALID = {2013}


def _unreadable(what: str) -> Reject:
    return Reject(502, f"The provider's answer could not be read: {what}.", "upstream_error",
                  reason="upstream_invalid")


def _error(code, message: str) -> Reject:
    if code in RATE_LIMITED:
        return Reject(429, f"The provider is rate limiting the gateway: {message}", "rate_limit_exceeded",
                      {"retry-after": "1"}, type_="requests", reason="upstream_4xx")
    if code in REFUSED:
        return Reject(400, f"The provider refused the content: {message}", "content_policy_violation",
                      param="prompt", reason="upstream_4xx")
    if code in INVALID:
        return Reject(400, f"The provider rejected the request: {message}", "invalid_value", reason="upstream_4xx")
    return Reject(502, f"The provider failed: {message} (MiniMax status {code})", "upstream_error",
                  reason="upstream_5xx")


def read(raw: bytes) -> dict:
    """A MiniMax answer as a dict; a Reject when it is not JSON or reports a failure."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _unreadable("not JSON") from None
    if not isinstance(body, dict):
        raise _unreadable("not a JSON object")
    status = body.get("base_resp") if isinstance(body.get("base_resp"), dict) else {}
    code = status.get("status_code", 0)
    if code != 0:
        raise _error(code, str(status.get("status_msg") or "no message"))
    return body


# --- images ------------------------------------------------------------------------------------

def image_request(request: dict, upstream_model: str) -> dict:
    """MiniMax's image_generation body for a checked OpenAI images request."""
    body = {"model": upstream_model, "prompt": request["prompt"], "n": request["n"],
            "response_format": "base64" if request["response_format"] == "b64_json" else "url"}
    ratio = ASPECT_RATIOS.get(request["size"])
    if ratio:
        body["aspect_ratio"] = ratio
    else:
        width, height = request["size"].split("x")
        body.update(width=int(width), height=int(height))
    return body


def image_response(body: dict, created: int) -> dict:
    """OpenAI's images response for MiniMax's answer (read by `read`)."""
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    urls, encoded = data.get("image_urls"), data.get("image_base64")
    if isinstance(urls, list):
        images = [{"url": url} for url in urls if isinstance(url, str)]
    elif isinstance(encoded, list):
        images = [{"b64_json": image} for image in encoded if isinstance(image, str)]
    else:
        raise _unreadable("no image_urls or image_base64")
    return {"created": created, "data": images}


# --- video -------------------------------------------------------------------------------------

def video_request(request: dict, upstream_model: str) -> dict:
    return {"model": upstream_model, "prompt": request["prompt"]}


def task_id(body: dict) -> str:
    task = body.get("task_id")
    if not isinstance(task, (str, int)) or isinstance(task, bool) or not str(task):
        raise _unreadable("no task_id")
    return str(task)


def video_status(body: dict) -> tuple[str, str | None, str | None]:
    """(our status, the file id once completed, the provider's reason once failed)."""
    status = VIDEO_STATUSES.get(body.get("status"))
    if status is None:
        raise _unreadable(f"unknown task status {body.get('status')!r}")
    file_id = body.get("file_id")
    if status == "completed" and not (isinstance(file_id, (str, int)) and str(file_id)):
        raise _unreadable("a finished task without a file_id")
    reason = body.get("error_message") if status == "failed" else None
    return status, (str(file_id) if status == "completed" else None), (str(reason)[:300] if reason else None)


def download_url(body: dict) -> str:
    file = body.get("file") if isinstance(body.get("file"), dict) else {}
    url = file.get("download_url")
    if not isinstance(url, str) or not url:
        raise _unreadable("no download_url")
    return url
