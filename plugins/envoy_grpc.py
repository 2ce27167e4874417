"""The one module that speaks Envoy's protos: gRPC messages in, plugin calls, gRPC messages out.

ext_authz serves the management routes (authenticate, forward a signed identity); ext_proc serves
the AI routes, one bidirectional stream per request, through the phases of the plugin chain.
"""
import asyncio
import json
import logging
import time

from envoy.config.core.v3 import base_pb2
from envoy.extensions.filters.http.ext_proc.v3 import processing_mode_pb2 as modes
from envoy.service.auth.v3 import external_auth_pb2 as authz
from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc
from envoy.service.ext_proc.v3 import external_processor_pb2 as ext_proc
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as ext_proc_grpc
from envoy.type.v3 import http_status_pb2
from google.protobuf import text_format
from google.rpc import code_pb2, status_pb2

from plugins.chain import Chain
from plugins.context import Answer, Reject, RequestContext
from plugins.metrics import AUTH_FAILURES, CHECK_LATENCY, CHECKS, PHASE_LATENCY, REJECTIONS
from plugins.request_log import log_check
from schemas import identity
from schemas.errors import error_body
from schemas.internal_api import (
    BUFFERED,
    ENDPOINT_METADATA_NAMESPACE,
    ENDPOINT_MODEL_KEY,
    EXT_PROC_FILTER,
    IMMEDIATE_DETAILS_PREFIX,
    NONE,
    PHASE_METADATA,
    RESPONSE_CODE_DETAILS,
    ROUTE_TOKEN_HEADER,
    STREAMED,
    UPSTREAM_HOST_METADATA,
    UPSTREAM_PHASE,
    VIA_UPSTREAM,
    response_processing_mode,
    route_token,
)
from schemas.logs import REQUEST_ID

log = logging.getLogger(__name__)
_background: set[asyncio.Task] = set()
OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
Mode = modes.ProcessingMode
INTERNAL_ERROR = Reject(500, "The server had an error while processing your request.", "internal_error",
                        reason="internal_error")


async def completions_finished(timeout: float) -> None:
    """Wait (up to `timeout`) for the completions of streams that ended early: they still publish usage."""
    if _background:
        await asyncio.wait(set(_background), timeout=timeout)


def _spawn(coroutine) -> asyncio.Task:
    task = asyncio.ensure_future(coroutine)
    _background.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_background.discard)
    return task


def _error_json(reject: Reject) -> bytes:
    body = error_body(reject.status, reject.message, reject.code, reject.param, reject.type)
    return json.dumps(body).encode()


def _client_error(ctx: RequestContext, reject: Reject) -> tuple[int, bytes]:
    """The error in the shape of the API the endpoint's clients speak (OpenAI's unless translated)."""
    if ctx.endpoint is None:
        return reject.status, _error_json(reject)
    status, body = ctx.endpoint.error(reject.status, reject.message, reject.code, reject.type, reject.param)
    return status, json.dumps(body).encode()


# --- ext_authz ---------------------------------------------------------------------------------

def _authz_headers(headers: dict[str, str]) -> list:
    # ext_authz ignores HeaderValue.raw_value: values must go in `value`.
    return [base_pb2.HeaderValueOption(header=base_pb2.HeaderValue(key=k, value=v), append_action=OVERWRITE)
            for k, v in headers.items()]


def _denied(reject: Reject) -> authz.CheckResponse:
    headers = {"content-type": "application/json", **reject.headers}
    return authz.CheckResponse(
        status=status_pb2.Status(code=code_pb2.UNAUTHENTICATED if reject.status == 401 else code_pb2.PERMISSION_DENIED),
        denied_response=authz.DeniedHttpResponse(status=http_status_pb2.HttpStatus(code=reject.status),
                                                 headers=_authz_headers(headers), body=_error_json(reject).decode()))


class AuthorizationService(authz_grpc.AuthorizationServicer):
    """ext_authz for management routes: authenticate, then forward a signed identity upstream."""

    def __init__(self, chain: Chain, internal_secret: bytes):
        self.chain, self.secret = chain, internal_secret

    async def Check(self, request: authz.CheckRequest, context) -> authz.CheckResponse:
        started = time.perf_counter()
        http = request.attributes.request.http
        ctx = RequestContext(method=http.method, path=http.path, headers=dict(http.headers))
        try:
            await self.chain.request_headers(ctx)
        except Reject as reject:
            CHECKS.labels("denied").inc()
            AUTH_FAILURES.labels(reject.reason).inc()
            log_check(ctx, False, reject.reason)
            return _denied(reject)
        finally:
            CHECK_LATENCY.observe(time.perf_counter() - started)
        CHECKS.labels("allowed").inc()
        log_check(ctx, True)
        upstream = {**ctx.upstream_headers, **identity.sign(ctx.identity, self.secret, ctx.method, ctx.path)}
        return authz.CheckResponse(
            status=status_pb2.Status(code=code_pb2.OK),
            ok_response=authz.OkHttpResponse(headers=_authz_headers(upstream),
                                             response_headers_to_add=_authz_headers(ctx.response_headers)))


# --- ext_proc ----------------------------------------------------------------------------------

def _headers_of(http_headers) -> dict[str, str]:
    # Envoy passes obs-text bytes (0x80-0xff) through; a value that is not UTF-8 is not ours to fail on.
    return {h.key: h.raw_value.decode(errors="replace") if h.raw_value else h.value
            for h in http_headers.headers.headers}


def _header_mutation(set_headers: dict[str, str], remove: list[str] = ()) -> ext_proc.HeaderMutation:
    return ext_proc.HeaderMutation(
        set_headers=[base_pb2.HeaderValueOption(header=base_pb2.HeaderValue(key=k, raw_value=v.encode()),
                                                append_action=OVERWRITE) for k, v in set_headers.items()],
        remove_headers=list(remove))


def _common(ctx: RequestContext) -> ext_proc.CommonResponse:
    mutation = ctx.mutation
    common = ext_proc.CommonResponse(clear_route_cache=mutation.clear_route_cache)
    if mutation.set_headers or mutation.remove_headers:
        common.header_mutation.CopyFrom(_header_mutation(mutation.set_headers, mutation.remove_headers))
    if mutation.body is not None:
        common.body_mutation.body = mutation.body
    return common


def _response_mode(streamed: bool | None) -> Mode:
    # mode_override replaces the whole mode: every field is spelled out (schemas.internal_api).
    return _MODES[streamed]


_MODES = {streamed: Mode(**response_processing_mode(body))
          for streamed, body in ((None, NONE), (True, STREAMED), (False, BUFFERED))}


def _unchanged(phase: str) -> ext_proc.ProcessingResponse:
    response = ext_proc.ProcessingResponse()
    getattr(response, phase).SetInParent()  # the oneof must be set even when nothing changes
    return response


def _immediate(ctx: RequestContext, reject: Reject) -> ext_proc.ProcessingResponse:
    headers = {**ctx.response_headers, "content-type": "application/json", **reject.headers}
    if ctx.identity is not None:
        headers.setdefault("x-tier", ctx.identity.tier)
    status, body = _client_error(ctx, reject)
    return ext_proc.ProcessingResponse(immediate_response=ext_proc.ImmediateResponse(
        status=http_status_pb2.HttpStatus(code=status), headers=_header_mutation(headers),
        body=body, details=f"{IMMEDIATE_DETAILS_PREFIX}{reject.reason}"))


def _answered(ctx: RequestContext, answer: Answer) -> ext_proc.ProcessingResponse:
    headers = {**ctx.response_headers, "content-type": "application/json", "x-tier": ctx.identity.tier}
    return ext_proc.ProcessingResponse(immediate_response=ext_proc.ImmediateResponse(
        status=http_status_pb2.HttpStatus(code=answer.status), headers=_header_mutation(headers),
        body=json.dumps(answer.body).encode(), details=f"{IMMEDIATE_DETAILS_PREFIX}answered"))


def _via_upstream(message) -> bool:
    attributes = message.attributes.get(EXT_PROC_FILTER)
    details = attributes.fields[RESPONSE_CODE_DETAILS].string_value if attributes else ""
    return details == VIA_UPSTREAM


def _candidate_model(message) -> str:
    """The model named in the metadata of the endpoint Envoy chose for this attempt."""
    attributes = message.attributes.get(EXT_PROC_FILTER)
    text = attributes.fields[UPSTREAM_HOST_METADATA].string_value if attributes else ""
    metadata = text_format.Parse(text, base_pb2.Metadata())
    return metadata.filter_metadata[ENDPOINT_METADATA_NAMESPACE].fields[ENDPOINT_MODEL_KEY].string_value


class ExternalProcessorService(ext_proc_grpc.ExternalProcessorServicer):
    """ext_proc for AI routes: each request is one stream of up to four phases plus body chunks, run
    through the plugin chain of the endpoint its path names (plugins.endpoints), with the config
    snapshot it started with.

    The same service also answers the upstream ext_proc of router clusters (gRPC metadata
    x-clew-phase: upstream): one stream per attempt, see plugins.fallback.Attempt. Only Envoy gets
    this far: plugins.grpc_guard refuses every other caller."""

    def __init__(self, endpoints, runtime, attempts, route_token: str):
        self.endpoints, self.runtime, self.attempts, self.route_token = endpoints, runtime, attempts, route_token

    async def Process(self, request_iterator, context):
        if (PHASE_METADATA, UPSTREAM_PHASE) in tuple(context.invocation_metadata() or ()):
            async for reply in self._attempt(request_iterator):
                yield reply
            return
        ctx = None
        try:
            async for message in request_iterator:
                phase = message.WhichOneof("request")
                if ctx is None and phase != "request_headers":
                    # Envoy's own reply to a request it never showed us (a path it refused): nothing to judge.
                    yield _unchanged(phase)
                    continue
                if ctx is None:
                    ctx = self._context(message.request_headers)
                    REQUEST_ID.set(ctx.request_id)  # for any line logged while serving this stream
                started = time.perf_counter()
                reply, last = await self._answer(ctx, phase, message)
                if last:
                    # Before the last reply: the usage event is queued before the client has it all
                    # (plugins.delivery_reconciler corrects it if the client does not get it). A task of
                    # its own: Envoy cancels this stream when the client leaves meanwhile, and the event
                    # must still be queued and the quota settled.
                    await asyncio.shield(_spawn(self._complete(ctx)))
                PHASE_LATENCY.labels(phase).observe(time.perf_counter() - started)
                yield reply
        finally:
            if ctx is not None and not ctx.state.completed:
                # Ended early (client gone, stream reset): the generator may be cancelled, so the
                # completion runs as a task of its own.
                _spawn(self._complete(ctx))

    async def _complete(self, ctx: RequestContext) -> None:
        ctx.state.completed = True
        if ctx.endpoint is None:  # refused before any plugin ran
            return
        try:
            await ctx.endpoint.chain.complete(ctx)
        except Exception:
            log.exception("completing request %s failed", ctx.request_id)

    def _context(self, request_headers) -> RequestContext:
        """The request's context: its endpoint, and the config snapshot it keeps to its end (prices,
        models, tiers: a reload while it runs changes none of them)."""
        headers = _headers_of(request_headers)
        path = headers.get(":path", "")
        return RequestContext(method=headers.get(":method", ""), path=path, headers=headers,
                              request_id=headers.get("x-request-id", ""), runtime=self.runtime.current,
                              endpoint=self.endpoints.for_path(path))

    async def _answer(self, ctx: RequestContext, phase: str, message) -> tuple[ext_proc.ProcessingResponse, bool]:
        """The reply, and whether it is the last message of this request."""
        ctx.begin_phase()
        try:
            reply = await self._phase(ctx, phase, message)
        except Reject as reject:
            return self._rejected(ctx, reject), True
        except Answer as answer:
            ctx.state.final_status = answer.status
            return _answered(ctx, answer), True
        except Exception:
            # A bug, not a verdict: escaping as a gRPC error would put its text in Envoy's reply.
            log.exception("the %s phase of request %s failed", phase, ctx.request_id)
            return self._rejected(ctx, INTERNAL_ERROR), True
        if phase == "response_headers":
            return reply, message.response_headers.end_of_stream or ctx.mutation.stream_response is None
        return reply, phase == "response_body" and message.response_body.end_of_stream

    @staticmethod
    def _rejected(ctx: RequestContext, reject: Reject) -> ext_proc.ProcessingResponse:
        REJECTIONS.labels(reject.reason).inc()
        ctx.state.final_status = reject.status
        ctx.state.rejected = reject.reason
        return _immediate(ctx, reject)

    def _sign_route(self, ctx: RequestContext) -> None:
        # A re-route is the sidecar's decision: the provider and router routes demand this token too.
        if ctx.mutation.clear_route_cache:
            ctx.mutation.set_headers[ROUTE_TOKEN_HEADER] = self.route_token

    async def _phase(self, ctx: RequestContext, phase: str, message) -> ext_proc.ProcessingResponse:
        chain = ctx.endpoint.chain if ctx.endpoint is not None else None
        if phase == "request_headers":
            if chain is None:  # Envoy sends only the AI endpoints' paths here
                raise Reject(404, f"Invalid URL ({ctx.method} {ctx.path.split('?')[0]})", "unknown_url",
                             reason="unknown_url")
            await chain.request_headers(ctx)
            if message.request_headers.end_of_stream:  # no body will follow: judge the empty one now
                await chain.request_body(ctx, b"")
            self._sign_route(ctx)
            return ext_proc.ProcessingResponse(request_headers=ext_proc.HeadersResponse(response=_common(ctx)))
        if phase == "request_body":
            await chain.request_body(ctx, message.request_body.body)
            self._sign_route(ctx)
            return ext_proc.ProcessingResponse(request_body=ext_proc.BodyResponse(response=_common(ctx)))
        if phase == "response_headers":
            headers = _headers_of(message.response_headers)
            ctx.mutation.set_headers.update(ctx.response_headers)
            await chain.response_headers(ctx, int(headers.get(":status", "0")), headers, _via_upstream(message))
            return ext_proc.ProcessingResponse(response_headers=ext_proc.HeadersResponse(response=_common(ctx)),
                                               mode_override=_response_mode(ctx.mutation.stream_response))
        if phase == "response_body":
            body = message.response_body
            await chain.response_body(ctx, body.body, body.end_of_stream)
            ctx.state.body_bytes += len(body.body if ctx.mutation.body is None else ctx.mutation.body)
            return ext_proc.ProcessingResponse(response_body=ext_proc.BodyResponse(response=_common(ctx)))
        # Trailers are never asked for; answer anything else with "no change" so Envoy moves on.
        return _unchanged(phase)


    async def _attempt(self, request_iterator):
        attempt = None
        async for message in request_iterator:
            phase = message.WhichOneof("request")
            response = ext_proc.ProcessingResponse()
            if phase == "request_headers":
                attempt = self.attempts(_candidate_model(message))
                set_headers, remove = await attempt.request_headers(_headers_of(message.request_headers))
                response.request_headers.response.header_mutation.CopyFrom(_header_mutation(set_headers, remove))
            elif phase == "request_body":
                body = attempt.request_body(message.request_body.body)
                common = response.request_body.response
                common.body_mutation.body = body
                common.header_mutation.CopyFrom(_header_mutation({"content-length": str(len(body))}))
            elif phase == "response_headers":
                headers = _headers_of(message.response_headers)
                added = await attempt.response_headers(int(headers.get(":status", "0")), headers)
                response.response_headers.response.header_mutation.CopyFrom(_header_mutation(added))
            else:
                getattr(response, phase).SetInParent()
            yield response


def add_services(server, authz_chain: Chain, endpoints, runtime, internal_secret: bytes, attempts) -> None:
    """`endpoints`: plugins.endpoints.Endpoints, the AI endpoints' chains; `runtime`: the RuntimeConfig."""
    authz_grpc.add_AuthorizationServicer_to_server(AuthorizationService(authz_chain, internal_secret), server)
    ext_proc_grpc.add_ExternalProcessorServicer_to_server(
        ExternalProcessorService(endpoints, runtime, attempts, route_token(internal_secret)), server)
