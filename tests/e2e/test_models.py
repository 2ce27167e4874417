"""GET /v1/models through Envoy lists every model with its kind and prices, as the OpenAPI document says."""
from tests.support.api import call


async def _models(client, gateway) -> dict:
    status, body, _ = await call(client, "GET", f"{gateway.url}/v1/models")
    assert status == 200 and body["object"] == "list"
    return {m["id"]: m for m in body["data"]}


async def test_models_list_shows_embedding_models_with_input_price(client, gateway):
    models = await _models(client, gateway)
    assert {name: (m["owned_by"], m["pricing"]["input"]) for name, m in models.items()
            if m["kind"] == "embedding"} == {"text-embedding-3-small": ("openai", "0.02"),
                                              "text-embedding-3-large": ("openai", "0.13"),
                                              "mistral/embed": ("mistral", "0.10")}
    assert "output" not in models["text-embedding-3-large"]["pricing"]
    assert models["text-embedding-3-large"]["dimensions"] == {"default": 3072, "max": 3072}


async def test_models_list_shows_cached_input_prices(client, gateway):
    models = await _models(client, gateway)
    assert models["deepseek-v4"]["pricing"] == {"currency": "USD", "unit": "1M tokens", "input": "0.50",
                                                "cached_input": "0.05", "output": "1.50"}


async def test_one_embedding_model_by_id(client, gateway):
    status, body, _ = await call(client, "GET", f"{gateway.url}/v1/models/mistral/embed")
    assert status == 200 and body["id"] == "mistral/embed" and body["kind"] == "embedding"
