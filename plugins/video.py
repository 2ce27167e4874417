"""The video plugin: asynchronous video generation through MiniMax's video API.

- POST /v1/video/generations creates the provider's task and answers with our job
  (`vid_…`, status queued), kept in the video_jobs table.
- GET /v1/video/generations/{id} asks the provider's status API and answers the job's status:
  queued, in_progress, completed (with a `video_url`) or failed.
- GET /v1/video/generations/{id}/content asks the provider's files API for the finished video's
  download URL (it expires, so it is fetched fresh each time) and answers `{"url": …}`.

Each client request is one provider call. Only the job's owner can read it: anyone else, like an
unknown id, gets the same 404. The video is billed once: the first poll that sees it completed
flips the job's `billed` flag and alone puts `price_per_video` in the ledger; no other video
request makes a ledger row (`meter` False).

Against the quota, a video counts its model's quota_tokens_per_video from its creation: reserved
before the provider is asked (`units`), kept once the job exists (`units_served`), written in the
ledger with the billing poll, and given back (`quota_refund`) by the poll that sees it failed.
"""
from dataclasses import replace
from urllib.parse import urlencode

from plugins import media_request, minimax_media
from plugins.chain import Plugin
from plugins.context import Reject, RequestContext, RequestState
from plugins.model_kind import resolve
from plugins.provider_call import reply, send
from plugins.video_jobs import VideoJob, VideoJobs

VIDEO_PATH = "/v1/video/generations"


def operation(path: str) -> tuple[str, str]:
    """("create", ""), ("status", id) or ("content", id); ("unknown", "") for other paths under
    /v1/video/generations/ (the endpoint's paths: plugins.endpoints chose this chain by them)."""
    path = path.split("?", 1)[0]
    if path == VIDEO_PATH:
        return "create", ""
    parts = path[len(VIDEO_PATH) + 1:].split("/")
    if len(parts) == 1 and parts[0]:
        return "status", parts[0]
    if len(parts) == 2 and parts[0] and parts[1] == "content":
        return "content", parts[0]
    return "unknown", ""


def _method_not_allowed(ctx: RequestContext, allowed: str) -> Reject:
    return Reject(405, f"Method {ctx.method} is not allowed on {ctx.path.split('?')[0]}; use {allowed}",
                  "method_not_allowed", {"allow": allowed}, reason="method_not_allowed")


def _not_found(job_id: str) -> Reject:
    # The same answer for someone else's job and for no job at all: ids are not probed.
    return Reject(404, f"No video generation with id '{job_id}'.", "video_not_found", reason="video_not_found")


def _not_ready(job: VideoJob) -> Reject:
    return Reject(409, f"Video {job.id} is {job.status}; its content is there once it is completed "
                       f"(GET {VIDEO_PATH}/{job.id}).", "video_not_ready", reason="video_not_ready")


class VideoPlugin(Plugin):
    name = "video"
    priority = 780  # beside the router: after auth and rate limits

    def __init__(self, jobs: VideoJobs, public_url: str):
        self.jobs, self.public_url = jobs, public_url.rstrip("/")

    async def on_request_headers(self, ctx: RequestContext) -> None:
        kind, job_id = operation(ctx.path)
        if kind == "create":
            if ctx.method != "POST":
                raise _method_not_allowed(ctx, "POST")
            return
        if kind == "unknown":
            raise Reject(404, f"Invalid URL ({ctx.method} {ctx.path.split('?')[0]})", "unknown_url",
                         reason="unknown_url")
        if ctx.method != "GET":
            raise _method_not_allowed(ctx, "GET")
        await self._route_job(ctx, kind, await self._owned(ctx, job_id))

    async def _owned(self, ctx: RequestContext, job_id: str) -> VideoJob:
        job = await self.jobs.get(job_id) if len(job_id) <= 40 else None
        if job is None or job.account_id != ctx.identity.account_id:
            raise _not_found(job_id)
        return job

    async def _route_job(self, ctx: RequestContext, kind: str, job: VideoJob) -> None:
        runtime = ctx.runtime
        model, upstream = runtime.models.get(job.model), runtime.upstreams.get(job.provider)
        if model is None or upstream is None:
            raise Reject(410, f"The model `{job.model}` that made video {job.id} is no longer served.",
                         "model_not_found", reason="model_not_found")
        if kind == "content" and job.file_id is None:
            raise _not_ready(job)
        query = {"task_id": job.task_id} if kind == "status" else {"file_id": job.file_id}
        path = upstream.path("video_query" if kind == "status" else "files") + "?" + urlencode(query)
        ctx.state.update(model=model, video_op=kind, video_job=job, key_source="pool", meter=False)
        send(ctx, upstream, path)

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        if ctx.method != "POST" or operation(ctx.path) != ("create", ""):
            return
        runtime = ctx.runtime
        request = media_request.parse(body)
        model = resolve(ctx, request["model"], "video")
        request = media_request.check_video(request)
        upstream = runtime.upstreams[model.provider]
        ctx.state.update(model=model, video_op="create", key_source="pool", meter=False, units=1)
        send(ctx, upstream, upstream.path("video"), minimax_media.video_request(request, model.upstream_model))

    async def on_response_body(self, ctx: RequestContext, chunk: bytes, end: bool) -> None:
        state = ctx.state
        # Errors (status >= 400, recorded by metering) are metering's to answer.
        if state.video_op is None or (state.status or 0) >= 400:
            return
        answer = minimax_media.read(chunk)
        state.update(cost_nanos=0, usage={})
        if state.video_op == "create":
            job = await self.jobs.create(ctx.identity.account_id, state.model.name, state.model.provider,
                                         minimax_media.task_id(answer))
            state.units_served = 1  # its quota tokens stay reserved until it is done or failed
            reply(ctx, self.view(job))
        elif state.video_op == "status":
            reply(ctx, self.view(await self._polled(state, answer)))
        else:
            job = state.video_job
            reply(ctx, {"id": job.id, "object": "video.content", "url": minimax_media.download_url(answer)})

    async def _polled(self, state: RequestState, answer: dict) -> VideoJob:
        job = state.video_job
        status, file_id, error = minimax_media.video_status(answer)
        if status == "completed":
            if await self.jobs.complete(job.id, file_id):  # the first poll to see it done bills it
                state.update(cost_nanos=state.model.unit_nanos, meter=True, units_served=1)
        elif status != job.status:
            if await self.jobs.set_status(job.id, status, error) and status == "failed":
                state.quota_refund = (job.created, state.model.unit_tokens)
        return replace(job, status=status, file_id=file_id or job.file_id, error=error)

    def view(self, job: VideoJob) -> dict:
        view = {"id": job.id, "object": "video.generation", "model": job.model, "status": job.status,
                "created": job.created}
        if job.status == "completed":
            view["video_url"] = f"{self.public_url}{VIDEO_PATH}/{job.id}/content"
        elif job.status == "failed":
            view["error"] = {"code": "video_generation_failed",
                             "message": job.error or "The provider could not generate the video."}
        return view
