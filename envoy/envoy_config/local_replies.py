"""JSON errors for the replies Envoy makes up itself (404s, timeouts, unreachable upstreams): OpenAI's shape,
and Anthropic's on the endpoints whose clients read that one (ANTHROPIC_ERROR_PATHS)."""
from schemas.errors import error_body
from schemas.internal_api import ANTHROPIC_ERROR_PATHS, IMMEDIATE_DETAILS_PREFIX

from .protos import type_url

# Anthropic's error type for each status Envoy answers with (as plugins.translators.anthropic_messages_openai_chat).
ANTHROPIC_TYPES = {400: "invalid_request_error", 404: "not_found_error", 413: "request_too_large", 500: "api_error",
                   502: "api_error", 503: "overloaded_error", 504: "timeout_error"}


def local_reply_config() -> dict:
    """JSON for the replies Envoy makes up itself. First matching mapper wins."""
    return {"mappers": [
        # ext_authz could not reach the sidecar (status_on_error). Both this and a denial carry the UAEX
        # flag, and the sidecar may deny with 503 too: only the response code details tell them apart.
        _mapper(_code_details("ext_authz_error"), 503, "Authentication service unavailable",
                "auth_unavailable"),
        # The sidecar's answers (ext_authz denials; ext_proc immediate responses, whose details the
        # sidecar prefixes with IMMEDIATE_DETAILS_PREFIX): its JSON body and headers go to the client untouched.
        _passthrough(_flags("UAEX")),
        _passthrough(_cel(f"response.code_details.startsWith('{IMMEDIATE_DETAILS_PREFIX}')")),
        *[_anthropic(mapper) for mapper in _replies()],
        *_replies(),
    ]}


def _replies() -> list[dict]:
    """Envoy's own failures, OpenAI-shaped."""
    return [
        _mapper(_flags("NR"), 404, "Unknown request URL", "unknown_url"),
        _mapper(_flags("UT"), 504, "The upstream service timed out", "upstream_timeout"),
        _mapper(_flags("UH", "UF", "URX", "UC", "UR", "LH", "NC"), 502,
                "The upstream service could not be reached", "upstream_unavailable"),
        _mapper(_flags("UO"), 503, "The upstream service is overloaded", "upstream_overloaded"),
        _mapper(_status("EQ", 413), 413, "Request body too large", "request_too_large"),
        # Everything else Envoy made up. Its response code details name what happened, but can carry
        # a sidecar's exception text or gRPC status: they go to the access log
        # (`response_code_details`, joined by x-request-id), never to the client.
        _mapper(_status("GE", 500), 500, "The gateway could not complete the request", "gateway_error",
                rewrite_status=False),
        _mapper(_status("GE", 0), 400, "The gateway rejected the request", "bad_request", rewrite_status=False),
    ]


def _anthropic(mapper: dict) -> dict:
    """The same reply on Anthropic's endpoints, in Anthropic's shape (its SDK reads no other)."""
    body = mapper["body_format_override"]["json_format"]
    status = mapper.get("status_code") or (500 if body["error"]["type"] == "server_error" else 400)
    on_paths = {"or_filter": {"filters": [_path_prefix(path) for path in ANTHROPIC_ERROR_PATHS]}} \
        if len(ANTHROPIC_ERROR_PATHS) > 1 else _path_prefix(ANTHROPIC_ERROR_PATHS[0])
    anthropic = {"type": "error", "error": {"type": ANTHROPIC_TYPES.get(status, "api_error"),
                                            "message": body["error"]["message"]}}
    return {**mapper, "filter": {"and_filter": {"filters": [on_paths, mapper["filter"]]}},
            "body_format_override": {"json_format": anthropic, "content_type": "application/json"}}


def _path_prefix(path: str) -> dict:
    return {"header_filter": {"header": {"name": ":path", "string_match": {"prefix": path}}}}


def _passthrough(filter_: dict) -> dict:
    return {"filter": filter_, "body_format_override": {
        "text_format_source": {"inline_string": "%LOCAL_REPLY_BODY%"}, "content_type": "application/json"}}


def _mapper(filter_: dict, status: int, message: str, code: str, rewrite_status: bool = True) -> dict:
    """`status` picks the error type; with rewrite_status it also replaces the reply's status."""
    mapper = {"filter": filter_, "body_format_override": {
        "json_format": error_body(status, message, code), "content_type": "application/json"}}
    if rewrite_status:
        mapper["status_code"] = status
    return mapper


def _flags(*flags: str) -> dict:
    return {"response_flag_filter": {"flags": list(flags)}}


def _status(op: str, code: int) -> dict:
    # runtime_key is mandatory in the proto; nothing sets it, so default_value applies.
    return {"status_code_filter": {"comparison": {"op": op, "value": {
        "default_value": code, "runtime_key": f"clew.local_reply.status_{op.lower()}_{code}"}}}}


def _code_details(details: str) -> dict:
    # Access-log filters have no code-details filter of their own; CEL reads them.
    return _cel(f"response.code_details == '{details}'")


def _cel(expression: str) -> dict:
    return {"extension_filter": {"name": "envoy.access_loggers.extension_filters.cel", "typed_config": {
        "@type": type_url("envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter"),
        "expression": expression}}}
