"""GET /v1/models' model objects: every kind with its prices, built from the shipped gateway.yaml."""
from pathlib import Path

from control_plane.models.routes import model_view
from schemas import gateway

MODELS = gateway.load(Path(__file__).resolve().parents[3] / "gateway.yaml").models


def view(name: str) -> dict:
    return model_view(name, MODELS[name])


def test_every_shipped_model_has_a_kind_and_pricing():
    kinds = {name: view(name)["kind"] for name in MODELS}
    assert set(kinds.values()) == {"chat", "embedding", "image", "video"}
    assert all(view(name)["pricing"]["currency"] == "USD" for name in MODELS)


def test_chat_model_shows_input_cached_input_and_output_prices():
    assert view("gpt-5.5")["pricing"] == {"currency": "USD", "unit": "1M tokens", "input": "10.00",
                                          "cached_input": "1.00", "output": "40.00"}
    assert view("gpt-5.5")["context_window"] == 1_000_000 and "dimensions" not in view("gpt-5.5")


def test_chat_model_without_a_cached_price_shows_none():
    assert view("groq/llama4")["pricing"] == {"currency": "USD", "unit": "1M tokens", "input": "0.50",
                                              "output": "1.00"}


def test_embedding_model_shows_its_input_price_and_dimensions():
    small = view("text-embedding-3-small")
    assert small["kind"] == "embedding" and small["owned_by"] == "openai"
    assert small["pricing"] == {"currency": "USD", "unit": "1M tokens", "input": "0.02"}
    assert small["dimensions"] == {"default": 1536, "max": 1536} and small["context_window"] == 8192
    assert view("mistral/embed")["dimensions"] == {"default": 1024, "max": None}


def test_embedding_model_without_dimensions_or_window_leaves_them_out():
    bare = {"provider": "openai", "kind": "embedding", "upstream_model": "x", "price_per_1m": {"input": "0.01"}}
    assert set(model_view("x", bare)) == {"id", "object", "created", "owned_by", "kind", "pricing"}


def test_image_and_video_models_keep_their_unit_prices():
    assert view("dall-e-3")["pricing"] == {"currency": "USD", "unit": "image", "price": "0.040"}
    assert view("minimax-hailuo-2.3")["pricing"] == {"currency": "USD", "unit": "video", "price": "0.280"}
