"""The OpenAPI document (schemas/openapi.yaml): valid OpenAPI 3.1, naming every route the gateway
serves and nothing else, and everything the public contract promises, as the contract spells it.

A route added to the control plane's router or to Envoy's AI paths fails here until it is documented.
"""
import re
from pathlib import Path

import pytest
import schemathesis
from openapi_spec_validator import validate

from control_plane.app import create_app
from envoy_config.routes import AI_PATHS, AI_PREFIXES, MANAGEMENT_ROUTES
from schemas.gateway import ConfigFile
from schemas.openapi import document
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = next((path for path in (Path("/work/shared/seeds/clew-api-docs.txt"),
                                   ROOT.parent / "shared" / "seeds" / "clew-api-docs.txt") if path.exists()), None)
needs_contract = pytest.mark.skipif(CONTRACT is None, reason="the contract lives outside the repository")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _shape(path: str) -> str:
    """A path with its parameters unnamed: /v1/keys/{key_id} and /v1/keys/:id are one route."""
    return re.sub(r":\w+", "{}", re.sub(r"\{[^}]*\}", "{}", path))


def documented() -> set[tuple[str, str]]:
    return {(method.upper(), _shape(path)) for path, item in document()["paths"].items()
            for method in item if method in METHODS}


def control_plane_routes(tmp_path: Path) -> set[tuple[str, str]]:
    """Every (method, path) of the control plane's aiohttp router, built the way it starts."""
    settings = Settings.from_env({"CLEW_HOME": str(tmp_path), "CLEW_CONFIG": str(ROOT / "gateway.yaml"),
                                  "CLEW_INTERNAL_SECRET": "i" * 32, "CLEW_JWT_SECRET": "j" * 32})
    app = create_app(settings, ConfigFile(settings.config_path))
    # aiohttp adds HEAD beside every GET by itself.
    return {(route.method, _shape(route.resource.canonical)) for route in app.router.routes()
            if route.method != "HEAD" and route.resource is not None}


def ai_routes() -> set[tuple[str, str]]:
    """The AI operations: Envoy's exact AI paths, and the documented paths under its AI prefixes."""
    under_prefixes = {(method, path) for method, path in documented() if path.startswith(AI_PREFIXES)}
    return {("POST", path) for path in AI_PATHS} | under_prefixes


def test_the_document_is_a_valid_openapi_3_1_document():
    validate(document())
    assert document()["openapi"].startswith("3.1.")
    assert schemathesis.openapi.from_dict(document()).get_all_operations()


def test_every_control_plane_route_is_documented(tmp_path):
    missing = control_plane_routes(tmp_path) - documented()
    assert not missing, f"routes of the control plane missing from schemas/openapi.yaml: {sorted(missing)}"


def test_every_ai_path_of_envoy_is_documented():
    missing = {("POST", path) for path in AI_PATHS} - documented()
    assert not missing, f"AI paths missing from schemas/openapi.yaml: {sorted(missing)}"
    for prefix in AI_PREFIXES:  # the video job routes: /v1/video/generations/{id}[/content]
        assert any(path.startswith(prefix) for _, path in documented()), prefix


def test_every_management_route_of_envoy_is_documented():
    paths = {path for _, path in documented()}
    assert {route.prefix_or_path for route in MANAGEMENT_ROUTES} <= paths


def test_every_documented_route_exists(tmp_path):
    stale = documented() - control_plane_routes(tmp_path) - ai_routes()
    assert not stale, f"schemas/openapi.yaml documents routes nobody serves: {sorted(stale)}"


def test_every_error_answer_is_openai_shaped_but_anthropics_apis():
    responses = document()["components"]["responses"]
    for path, item in document()["paths"].items():
        # The Anthropic Messages API answers errors in Anthropic's shape, which its SDK reads.
        shape = "AnthropicError" if path.startswith("/v1/messages") else "Error"
        for method, operation in ((m, o) for m, o in item.items() if m in METHODS):
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    name = response["$ref"].rsplit("/", 1)[-1]
                    schema = responses[name]["content"]["application/json"]["schema"]
                    assert schema == {"$ref": f"#/components/schemas/{shape}"}, (method, path, status)
    error = document()["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["required"] == ["message", "type", "param", "code"]


# --- the contract (clew-api-docs.txt), as written -------------------------------------------------

def contract_routes(text: str) -> set[tuple[str, str]]:
    """`- Method: POST` then `- Path: /v1/...` lines, and `GET /v1/keys — ...` lines."""
    found, method = set(), None
    for line in text.splitlines():
        line = line.strip().lstrip("•-* ").strip()
        if line.startswith("Method:"):
            method = line.split(":", 1)[1].strip()
        elif line.startswith("Path:") and method:
            found.add((method, line.split(":", 1)[1].split()[0]))
        else:
            inline = re.match(r"^(GET|POST|PUT|PATCH|DELETE) (/v1/\S+)", line)
            if inline:
                found.add((inline[1], inline[2]))
    return found


@needs_contract
def test_every_endpoint_of_the_contract_is_documented():
    routes = contract_routes(CONTRACT.read_text())
    assert len(routes) >= 27, sorted(routes)  # the contract lists 27 method + path pairs
    missing = {(method, _shape(path.split("?")[0])) for method, path in routes} - documented()
    assert not missing, sorted(missing)


@needs_contract
def test_every_query_parameter_of_the_contract_is_documented():
    text = CONTRACT.read_text()
    asked = re.findall(r"(/v1/[\w/]+)\?(\w+)=", text)  # /v1/usage/daily?days=30, /v1/updates/check?current=
    assert len(asked) >= 2, asked
    for path, name in asked:
        parameters = document()["paths"][path]["get"]["parameters"]
        assert name in {p["name"] for p in parameters if "name" in p} | _referenced_names(parameters), (path, name)
    plugins = {p["name"] for p in document()["paths"]["/v1/plugins"]["get"]["parameters"]}
    assert {"tag", "q"} <= plugins and "?tag= or ?q=" in text


def _referenced_names(parameters: list) -> set[str]:
    shared = document()["components"]["parameters"]
    return {shared[p["$ref"].rsplit("/", 1)[-1]]["name"] for p in parameters if "$ref" in p}


# Transcribed from the contract's tables and examples (each is checked to be in its text).
CHAT_FIELDS = {"model": "string", "messages": "array", "stream": "boolean", "max_tokens": "integer"}
ACCOUNT_FIELDS = ("email", "password")
MEDIA_FIELDS = ("model", "prompt")


def _body_schema(path: str) -> dict:
    schema = document()["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


@needs_contract
def test_every_request_field_of_the_contract_is_documented():
    text = CONTRACT.read_text()
    chat = _body_schema("/v1/chat/completions")
    for name, kind in CHAT_FIELDS.items():
        assert re.search(rf"\b{name}(string|array|boolean|number)", text), name
        assert kind in chat["properties"][name]["type"], name  # "number" there: whole numbers only
    assert {"model", "messages"} <= set(chat["required"])
    for path in ("/v1/auth/signup", "/v1/auth/login"):
        assert set(ACCOUNT_FIELDS) <= set(_body_schema(path)["required"]), path
    for path in ("/v1/images/generations", "/v1/video/generations"):
        assert set(MEDIA_FIELDS) <= set(_body_schema(path)["required"]), path
    assert all(f'"{name}"' in text for name in (*ACCOUNT_FIELDS, *MEDIA_FIELDS))
    assert _body_schema("/v1/auth/signup")["properties"]["password"]["minLength"] == 8  # "8+ characters"


# The contract's response headers, and the API-key header.
CONTRACT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-Cost-USD", "X-Tier", "X-Key-Source")


@needs_contract
def test_every_header_of_the_contract_is_documented():
    text = CONTRACT.read_text()
    # Every X-... name the contract spells, however its table glued it to the next cell ("X-Key-Sourcepool").
    spelled = set(re.findall(r"X-[A-Za-z-]+", text))
    assert all(any(found.startswith(name) for found in spelled) for name in (*CONTRACT_HEADERS, "X-API-Key"))
    assert len(spelled) == len(CONTRACT_HEADERS) + 1, spelled
    answered = set(document()["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["headers"])
    assert set(CONTRACT_HEADERS) <= answered
    schemes = document()["components"]["securitySchemes"]
    assert schemes["apiKeyAuth"]["name"] == "X-API-Key" and schemes["bearerAuth"]["scheme"] == "bearer"
