"""POST /v1/embeddings: OpenAI's shape, deterministic unit vectors, base64, dimensions, usage and the ledger."""
import array
import base64
import json
import math

import pytest

from tests.plugins.simulator.conftest import KEY


async def embed(client, body: dict, *, provider="openai", headers=None, key=KEY):
    auth = {"Authorization": f"Bearer {key}"}
    return await client.post(f"/{provider}/v1/embeddings", data=json.dumps(body), headers=auth | (headers or {}))


async def embed_json(client, **body) -> dict:
    resp = await embed(client, {"model": "text-embedding-3-small", **body})
    assert resp.status == 200, await resp.text()
    return await resp.json()


def decoded(b64: str) -> list[float]:
    return array.array("f", base64.b64decode(b64)).tolist()


async def _ledger(sim) -> list:
    return (await (await sim.get("/_sim/ledger?api=embeddings")).json())["data"]


async def test_response_has_openai_shape_and_usage(sim):
    body = await embed_json(sim, input="The food was delicious.")
    assert set(body) == {"object", "data", "model", "usage"}
    assert body["object"] == "list" and body["model"] == "text-embedding-3-small"
    [item] = body["data"]
    assert set(item) == {"object", "index", "embedding"} and item["object"] == "embedding" and item["index"] == 0
    assert len(item["embedding"]) == 1536
    assert body["usage"] == {"prompt_tokens": 6, "total_tokens": 6}  # ceil(23 / 4)


async def test_vectors_are_unit_length_and_deterministic_per_input(sim):
    first = await embed_json(sim, input=["alpha", "beta"])
    second = await embed_json(sim, input=["beta"])
    alpha, beta = (item["embedding"] for item in first["data"])
    assert [item["index"] for item in first["data"]] == [0, 1]
    assert beta == second["data"][0]["embedding"] and alpha != beta
    assert math.isclose(sum(v * v for v in alpha), 1.0, rel_tol=1e-5)


async def test_base64_decodes_to_the_same_vector_as_float(sim):
    floats = await embed_json(sim, input="same text", encoding_format="float")
    packed = await embed_json(sim, input="same text", encoding_format="base64")
    assert isinstance(packed["data"][0]["embedding"], str)
    assert decoded(packed["data"][0]["embedding"]) == floats["data"][0]["embedding"]


@pytest.mark.parametrize("model,default", [("text-embedding-3-small", 1536), ("text-embedding-3-large", 3072)])
async def test_dimensions_shorten_the_default_vector(sim, model, default):
    full = await embed_json(sim, model=model, input="x")
    short = await embed_json(sim, model=model, input="x", dimensions=256)
    assert len(full["data"][0]["embedding"]) == default and len(short["data"][0]["embedding"]) == 256
    # The shortened vector points the same way as the full one's prefix (renormalised).
    prefix = full["data"][0]["embedding"][:256]
    norm = math.sqrt(sum(v * v for v in prefix))
    assert all(math.isclose(a, b / norm, rel_tol=1e-4, abs_tol=1e-6)
               for a, b in zip(short["data"][0]["embedding"], prefix, strict=True))


async def test_mistral_embed_has_1024_dimensions_and_mistral_fields(sim):
    resp = await embed(sim, {"model": "mistral-embed", "input": ["a", "b"]}, provider="mistral")
    body = await resp.json()
    assert resp.status == 200 and len(body["data"][1]["embedding"]) == 1024
    assert body["id"].startswith("emb-sim-") and body["usage"] == {"prompt_tokens": 2, "total_tokens": 2,
                                                                    "completion_tokens": 0}


async def test_token_arrays_count_one_token_per_element(sim):
    single = await embed_json(sim, input=[1, 2, 3])
    many = await embed_json(sim, input=[[1, 2, 3], [4, 5]])
    assert len(single["data"]) == 1 and single["usage"]["prompt_tokens"] == 3
    assert len(many["data"]) == 2 and many["usage"]["prompt_tokens"] == 5
    assert many["data"][0]["embedding"] == single["data"][0]["embedding"]


async def test_prompt_token_header_overrides_the_count(sim):
    resp = await embed(sim, {"model": "text-embedding-3-small", "input": "hi"}, headers={"x-sim-prompt-tokens": "77"})
    assert (await resp.json())["usage"] == {"prompt_tokens": 77, "total_tokens": 77}
    [entry] = await _ledger(sim)
    assert entry["prompt_tokens"] == 77


async def test_each_call_is_a_ledger_entry_with_the_request_id(sim):
    resp = await embed(sim, {"model": "text-embedding-3-small", "input": ["a", "bb"], "encoding_format": "base64",
                             "dimensions": 8}, headers={"x-request-id": "req-42"})
    assert resp.headers["x-request-id"] == "req-42"
    [entry] = await _ledger(sim)
    assert entry["api"] == "embeddings" and entry["request_id"] == "req-42" and entry["id"].startswith("emb-sim-")
    assert (entry["status"], entry["prompt_tokens"], entry["completion_tokens"], entry["inputs"]) == (200, 2, 0, 2)
    assert (entry["dimensions"], entry["encoding_format"], entry["provider"]) == (8, "base64", "openai")
    assert (await (await sim.get("/_sim/ledger?api=chat")).json())["data"] == []


@pytest.mark.parametrize("status", [429, 503])
async def test_fault_headers_answer_like_chat_and_are_recorded(sim, status):
    resp = await embed(sim, {"model": "text-embedding-3-small", "input": "x"},
                       headers={"x-sim-status": str(status), "x-sim-retry-after": "3"})
    body = await resp.json()
    assert resp.status == status and resp.headers["Retry-After"] == "3" and body["error"]["message"]
    [entry] = await _ledger(sim)
    assert entry["status"] == status and entry["prompt_tokens"] == 0


async def test_fault_rules_apply_to_embeddings(sim):
    await sim.post("/_sim/faults", json={"provider": "openai", "model": "text-embedding-3-small", "status": 500,
                                         "times": 1})
    assert (await embed(sim, {"model": "text-embedding-3-small", "input": "x"})).status == 500
    assert (await embed(sim, {"model": "text-embedding-3-small", "input": "x"})).status == 200


async def test_rejected_key_is_401_and_recorded_as_embeddings(sim):
    resp = await embed(sim, {"model": "text-embedding-3-small", "input": "x"}, key="invalid-key-9999")
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "invalid_api_key"
    [entry] = await _ledger(sim)
    assert entry["status"] == 401 and entry["prompt_tokens"] == 0


@pytest.mark.parametrize("body,param", [
    ({"input": "x"}, "model"),
    ({"model": "text-embedding-3-small"}, "input"),
    ({"model": "text-embedding-3-small", "input": ""}, "input"),
    ({"model": "text-embedding-3-small", "input": []}, "input"),
    ({"model": "text-embedding-3-small", "input": [""]}, "input"),
    ({"model": "text-embedding-3-small", "input": [[]]}, "input"),
    ({"model": "text-embedding-3-small", "input": [{"text": "x"}]}, "input"),
    ({"model": "text-embedding-3-small", "input": ["x"] * 2049}, "input"),
    ({"model": "text-embedding-3-small", "input": "x" * 40000}, "input"),
    ({"model": "text-embedding-3-small", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ({"model": "text-embedding-3-small", "input": "x", "dimensions": 0}, "dimensions"),
    ({"model": "text-embedding-3-small", "input": "x", "dimensions": 1537}, "dimensions"),
    ({"model": "text-embedding-3-small", "input": "x", "dimensions": "8"}, "dimensions"),
    ({"model": "mistral-embed", "input": "x", "dimensions": 8}, "dimensions"),
])
async def test_invalid_requests_are_400_naming_the_parameter(sim, body, param):
    resp = await embed(sim, body)
    error = (await resp.json())["error"]
    assert resp.status == 400 and error["param"] == param and error["type"] == "invalid_request_error"
    assert await _ledger(sim) == []
