"""One plugin chain per AI endpoint, picked by path; the Envoy renderer routes the same paths."""
from datetime import UTC, datetime

import pytest

from envoy_config.routes import route_table
from plugins.context import Reject, RequestContext
from plugins.embeddings import EmbeddingsPlugin
from plugins.endpoints import ENDPOINTS, AllowedMethods, Dependencies, Endpoints
from plugins.fallback import FallbackPlugin
from plugins.images import ImagesPlugin
from plugins.router import RouterPlugin
from plugins.video import VideoPlugin
from schemas.internal_api import AI_ENDPOINTS


def _endpoints() -> Endpoints:
    return Endpoints(Dependencies(identities=None, jwt_secret=b"s", windows=None, quotas=None, cooldowns=None,
                                  provider_keys=None, sink=None, video_jobs=None, public_url="http://x",
                                  clock=lambda: datetime.now(UTC)))


def test_every_endpoint_envoy_routes_has_a_chain_and_every_chain_a_route():
    assert [spec.name for spec in ENDPOINTS] == [endpoint.name for endpoint in AI_ENDPOINTS]


def test_envoys_ai_routes_are_the_endpoints_paths():
    ai = {(r.prefix_or_path, r.exact) for r in route_table() if r.kind == "ai"}
    assert ai == {(p, True) for e in AI_ENDPOINTS for p in e.paths} | {(p, False) for e in AI_ENDPOINTS
                                                                       for p in e.prefixes}


@pytest.mark.parametrize("path, name, own", [
    ("/v1/chat/completions", "chat", (FallbackPlugin, RouterPlugin)),
    ("/v1/chat/completions?x=1", "chat", (FallbackPlugin, RouterPlugin)),
    ("/v1/embeddings", "embeddings", (EmbeddingsPlugin,)),
    ("/v1/images/generations", "images", (ImagesPlugin,)),
    ("/v1/video/generations", "video", (VideoPlugin,)),
    ("/v1/video/generations/vid_1/content", "video", (VideoPlugin,)),
])
def test_the_path_picks_the_endpoint_and_its_plugins(path, name, own):
    endpoint = _endpoints().for_path(path)
    kinds = {type(plugin) for plugin in endpoint.chain.plugins}
    assert endpoint.name == name and set(own) <= kinds
    others = {RouterPlugin, EmbeddingsPlugin, ImagesPlugin, VideoPlugin} - set(own)
    assert not kinds & others  # no plugin of another endpoint runs (nor has to test the path)


@pytest.mark.parametrize("path", ["/v1/chat/completionsX", "/v1/embeddingsX", "/", "/v1/video/generationsX"])
def test_a_path_of_no_endpoint_has_no_chain(path):
    assert _endpoints().for_path(path) is None


async def test_a_method_the_endpoint_does_not_take_is_405_with_allow():
    ctx = RequestContext(method="GET", path="/v1/images/generations?x=1", headers={})
    with pytest.raises(Reject) as raised:
        await AllowedMethods(("POST",)).on_request_headers(ctx)
    assert (raised.value.status, raised.value.headers, raised.value.code) == (405, {"allow": "POST"},
                                                                             "method_not_allowed")
    assert "/v1/images/generations;" in raised.value.message


def test_an_openai_endpoints_errors_are_openai_shaped():
    endpoint = _endpoints().for_path("/v1/chat/completions")
    assert endpoint.error(404, "no such model", "model_not_found", None, "model") == (404, {"error": {
        "message": "no such model", "type": "invalid_request_error", "param": "model", "code": "model_not_found"}})
