"""The two Envoys the gateway is compared with: a fixed-response upstream and a bare proxy.

The upstream answers every request from `direct_response`, so it costs next to nothing and we
measure the gateway, not it: an OpenAI chat.completion, or, for requests carrying
`x-bench-stream: 1` (a header the gateway passes through, unlike the path it rewrites), an OpenAI
chat stream of 20 content chunks, a finish chunk, a usage chunk and `data: [DONE]`, without a
content-length (chunked, as providers send streams). Envoy sends a direct_response body in one
piece, so the "stream" reaches the proxy in one or two reads, not 20 separate writes.

The bare proxy is Envoy with the gateway's own listener and connection-manager settings, a plain
cluster to the upstream, and no filter other than the router.
"""
import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from control_plane.supervisor import envoy_binary
from envoy_config import render
from schemas import gateway
from tests.support.ports import free_port
from tests.support.stack import ROOT

STREAM_HEADER = "x-bench-stream"
MODEL = "deepseek-v4"
CONTENT_CHUNKS = 20
PROMPT_TOKENS, COMPLETION_TOKENS = 9, CONTENT_CHUNKS
READY_TIMEOUT = 30
HEADER_MUTATION = "envoy.filters.http.header_mutation"


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def json_body() -> str:
    return _dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                     "finish_reason": "stop"}],
        "usage": _usage()})


def stream_body() -> str:
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        message = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {_dumps(message)}\n\n"

    events = [chunk({"role": "assistant", "content": "word0 "} if i == 0 else {"content": f"word{i} "})
              for i in range(CONTENT_CHUNKS)]
    events.append(chunk({}, "stop"))
    usage = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL,
             "choices": [], "usage": _usage()}
    events.append(f"data: {_dumps(usage)}\n\n")
    events.append("data: [DONE]\n\n")
    return "".join(events)


def _usage() -> dict:
    return {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}


def _fixed(name: str, body: str, content_type: str, headers: list[dict] | None = None, chunked: bool = False) -> dict:
    route = {"name": name, "match": {"prefix": "/", **({"headers": headers} if headers else {})},
             "direct_response": {"status": 200, "body": {"inline_string": body}},
             "response_headers_to_add": [{"header": {"key": "content-type", "value": content_type},
                                          "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]}
    if chunked:  # as providers send streams: no content-length, so chunked transfer encoding
        route["typed_per_filter_config"] = {HEADER_MUTATION: {
            "@type": _type("envoy.extensions.filters.http.header_mutation.v3.HeaderMutationPerRoute"),
            "mutations": {"response_mutations": [{"remove": "content-length"}]}}}
    return route


def _upstream_filters() -> list[dict]:
    # The buffer filter reads each request whole before the direct_response goes out: a reply sent
    # before the request is complete makes Envoy close the connection, and wrk would reconnect each time.
    buffer = {"name": "envoy.filters.http.buffer", "typed_config": {
        "@type": _type("envoy.extensions.filters.http.buffer.v3.Buffer"), "max_request_bytes": 1024 * 1024}}
    mutation = {"name": HEADER_MUTATION, "typed_config": {
        "@type": _type("envoy.extensions.filters.http.header_mutation.v3.HeaderMutation"), "mutations": {}}}
    return [buffer, mutation, render.router_filter()]


def _type(name: str) -> str:
    return f"type.googleapis.com/{name}"


def _bootstrap(admin_port: int, listener: dict, clusters: list[dict]) -> dict:
    return {"node": {"id": "bench", "cluster": "bench"},
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
            "overload_manager": render._connection_limit(),  # the gateway's own, so both warn alike
            "static_resources": {"listeners": [listener], "clusters": clusters}}


def _listener(port: int, routes: list[dict], http_filters: list[dict], local_replies: bool) -> dict:
    manager = render.http_connection_manager("bench", {"route_config": {
        "name": "bench", "virtual_hosts": [{"name": "bench", "domains": ["*"], "routes": routes}]}}, http_filters)
    if not local_replies:  # a direct_response is a local reply: the gateway's mappers would rewrite it
        del manager["typed_config"]["local_reply_config"]
    return {"name": "bench", "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "per_connection_buffer_limit_bytes": render.buffer_limit(gateway.load(ROOT / "gateway.yaml")),
            "filter_chains": [{"filters": [manager]}]}


def upstream_config(port: int, admin_port: int) -> dict:
    stream_match = [{"name": STREAM_HEADER, "string_match": {"exact": "1"}}]
    routes = [_fixed("stream", stream_body(), "text/event-stream", stream_match, chunked=True),
              _fixed("json", json_body(), "application/json")]
    return _bootstrap(admin_port, _listener(port, routes, _upstream_filters(), local_replies=False), [])


def bare_proxy_config(port: int, admin_port: int, upstream_port: int) -> dict:
    # Plain HTTP/1.1 to the upstream, as the gateway's provider clusters reach a plain-HTTP provider.
    cluster = {"name": "upstream", "type": "STATIC", "connect_timeout": "5s", "load_assignment": {
        "cluster_name": "upstream", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
            "socket_address": {"address": "127.0.0.1", "port_value": upstream_port}}}}]}]}}
    routes = [{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": cluster["name"], "timeout": "120s"}}]
    return _bootstrap(admin_port, _listener(port, routes, [render.router_filter()], local_replies=True), [cluster])


class Envoy:
    """One Envoy process on a config of ours, in its own session so Ctrl-C reaches only us."""

    def __init__(self, name: str, workdir: Path, build):
        self.name, self.port, self.admin_port = name, free_port(), free_port()
        # JSON, not YAML: a YAML dump folds the bodies' blank lines away.
        self.config_path = workdir / f"{name}.json"
        self.config_path.write_text(json.dumps(build(self.port, self.admin_port), indent=1))
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self) -> "Envoy":
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [envoy_binary(), "-c", str(self.config_path), "--disable-hot-restart", "--log-level", "warn"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} Envoy did not start:\n{self.log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
