"""gateway.yaml is validated against its JSON Schema, each error named by its path."""
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from schemas import gateway

SHIPPED = Path(__file__).resolve().parents[2] / "gateway.yaml"


def _shipped() -> dict:
    return yaml.safe_load(SHIPPED.read_text())


def test_shipped_config_is_valid():
    assert gateway.validate(_shipped()) == []


def test_tier_table_matches_the_published_prices():
    tiers = gateway.load(SHIPPED).tiers
    assert [(t["price_usd_month"], t["requests_per_minute"], t["monthly_tokens"])
            for t in (tiers["free"], tiers["pro"], tiers["enterprise"])] == [
        ("0", 10, 100_000), ("10", 100, 5_000_000), ("100", 1000, None)]


def test_a_tiers_spend_cap_is_exact_nano_dollars_and_optional():
    data = _shipped()
    data["tiers"]["enterprise"]["monthly_spend_cap_usd"] = "2500.000000001"
    data["tiers"]["pro"]["monthly_spend_cap_usd"] = None
    assert gateway.validate(data) == []
    assert gateway.tier_spend_cap_nanos(data["tiers"]["enterprise"]) == 2_500_000_000_001
    assert gateway.tier_spend_cap_nanos(data["tiers"]["pro"]) is None
    assert gateway.tier_spend_cap_nanos(data["tiers"]["free"]) is None  # absent: no cap


def test_error_names_the_path_of_the_bad_value():
    data = _shipped()
    data["tiers"]["pro"]["requests_per_minute"] = "lots"
    assert gateway.validate(data) == ["tiers.pro.requests_per_minute: 'lots' is not of type 'integer'"]


def test_unknown_key_is_an_error():
    data = _shipped()
    data["auth"]["session_ttl"] = 5
    assert any(e.startswith("auth:") and "session_ttl" in e for e in gateway.validate(data))


def test_yaml_syntax_error_is_a_config_error():
    with pytest.raises(gateway.ConfigError) as raised:
        gateway.parse("tiers: [unclosed")
    assert raised.value.errors[0].startswith("(yaml):")


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(gateway.ConfigError):
        gateway.load(tmp_path / "nope.yaml")


def _edited(edit) -> dict:
    data = _shipped()
    edit(data)
    return data


# One broken gateway.yaml per kind of mistake operators make, and the error each must produce.
BAD_EDITS = {
    "missing section": (lambda d: d.pop("models"), "(root): 'models' is a required property"),
    "wrong type": (lambda d: d["models"]["deepseek-v4"].update(context_window="1M"),
                   "models.deepseek-v4.context_window: '1M' is not of type 'integer'"),
    "price with four decimals": (lambda d: d["models"]["gpt-5.5"]["price_per_1m"].update(input="10.0001"),
                                 "models.gpt-5.5.price_per_1m.input: '10.0001' does not match"),
    "price as a float": (lambda d: d["models"]["gpt-5.5"]["price_per_1m"].update(output=40.0),
                         "models.gpt-5.5.price_per_1m.output: 40.0 is not of type 'string'"),
    "unknown provider": (lambda d: d["models"]["deepseek-v4"].update(provider="deepseak"),
                         "models.deepseek-v4.provider: 'deepseak' is not defined under providers"),
    "base url with a path": (lambda d: d["providers"]["groq"].update(base_url="https://api.groq.com/openai"),
                             "providers.groq.base_url: 'https://api.groq.com/openai' does not match"),
    "unknown adapter": (lambda d: d["providers"]["groq"].update(adapter="soap"),
                        "providers.groq.adapter: 'soap' is not one of ['openai_chat']"),
    "missing tier": (lambda d: d["tiers"].pop("pro"), "tiers: 'pro' is a required property"),
    "negative rate limit": (lambda d: d["tiers"]["free"].update(requests_per_minute=0),
                            "tiers.free.requests_per_minute: 0 is less than the minimum of 1"),
    "spend cap as a float": (lambda d: d["tiers"]["enterprise"].update(monthly_spend_cap_usd=5000.0),
                             "tiers.enterprise.monthly_spend_cap_usd: 5000.0 is not of type 'string', 'null'"),
    "spend cap finer than a nano-dollar": (
        lambda d: d["tiers"]["enterprise"].update(monthly_spend_cap_usd="1.0000000001"),
        "tiers.enterprise.monthly_spend_cap_usd: '1.0000000001' does not match"),
    "negative spend cap": (lambda d: d["tiers"]["pro"].update(monthly_spend_cap_usd="-5"),
                           "tiers.pro.monthly_spend_cap_usd: '-5' does not match"),
    "misspelt key": (lambda d: d["providers"]["openai"].update(api_key_evn="X"),
                     "providers.openai: Additional properties are not allowed ('api_key_evn' was unexpected)"),
    "unknown model kind": (lambda d: d["models"]["dall-e-3"].update(kind="audio"),
                           "models.dall-e-3.kind: 'audio' is not one of ['chat', 'embedding', 'image', 'video']"),
    "image model without its price": (lambda d: d["models"]["dall-e-3"].pop("price_per_image"),
                                      "models.dall-e-3: 'price_per_image' is a required property"),
    "video model without its price": (lambda d: d["models"]["minimax-hailuo-2.3"].pop("price_per_video"),
                                      "models.minimax-hailuo-2.3: 'price_per_video' is a required property"),
    "chat model without token prices": (lambda d: d["models"]["deepseek-v4"].pop("price_per_1m"),
                                        "models.deepseek-v4: 'price_per_1m' is a required property"),
    "image price with four decimals": (lambda d: d["models"]["dall-e-3"].update(price_per_image="0.0401"),
                                       "models.dall-e-3.price_per_image: '0.0401' does not match"),
    "image size that is no size": (lambda d: d["models"]["dall-e-3"].update(sizes=["big"]),
                                   "models.dall-e-3.sizes.0: 'big' does not match"),
    "image model on a provider without an image API": (
        lambda d: d["models"]["dall-e-3"].update(provider="groq"),
        "models.dall-e-3.provider: 'groq' needs images_path or image_path for image models"),
    "chat model without an output price": (lambda d: d["models"]["deepseek-v4"]["price_per_1m"].pop("output"),
                                           "models.deepseek-v4.price_per_1m: 'output' is a required property"),
    "cached input price with four decimals": (
        lambda d: d["models"]["gpt-5.5"]["price_per_1m"].update(cached_input="1.0001"),
        "models.gpt-5.5.price_per_1m.cached_input: '1.0001' does not match"),
    "cached input dearer than input": (
        lambda d: d["models"]["gpt-5.5"]["price_per_1m"].update(cached_input="10.01"),
        "models.gpt-5.5.price_per_1m.cached_input: must not exceed input (10.00)"),
    "embedding model without its price": (lambda d: d["models"]["mistral/embed"].pop("price_per_1m"),
                                          "models.mistral/embed: 'price_per_1m' is a required property"),
    "embedding model with an output price": (
        lambda d: d["models"]["text-embedding-3-small"]["price_per_1m"].update(output="0.01"),
        "models.text-embedding-3-small.price_per_1m: Additional properties are not allowed ('output' was unexpected)"),
    "embedding model with a cached price": (
        lambda d: d["models"]["text-embedding-3-small"]["price_per_1m"].update(cached_input="0.01"),
        "models.text-embedding-3-small.price_per_1m: Additional properties are not allowed ('cached_input' was"),
    "embedding dimensions without a default": (lambda d: d["models"]["mistral/embed"].update(dimensions={"max": 8}),
                                               "models.mistral/embed.dimensions: 'default' is a required property"),
    "embedding default longer than its max": (
        lambda d: d["models"]["text-embedding-3-small"].update(dimensions={"default": 2048, "max": 1536}),
        "models.text-embedding-3-small.dimensions.default: 2048 is more than max (1536)"),
    "embedding model on a provider without the embeddings API": (
        lambda d: d["providers"]["mistral"].pop("embeddings_path"),
        "models.mistral/embed.provider: 'mistral' needs embeddings_path for embedding models"),
    "video model on a provider without the video APIs": (
        lambda d: d["providers"]["minimax"].pop("files_path"),
        "models.minimax-hailuo-2.3.provider: 'minimax' needs video_path, video_query_path and files_path"),
}


@pytest.mark.parametrize("kind", BAD_EDITS)
def test_each_kind_of_mistake_is_reported_with_its_path(kind):
    edit, expected = BAD_EDITS[kind]
    errors = gateway.validate(_edited(edit))
    assert any(error.startswith(expected) for error in errors), errors


def test_every_seed_model_is_configured():
    models = gateway.load(SHIPPED).models
    assert {"deepseek-v4-pro", "deepseek-v4", "gpt-5.5", "groq/llama4", "mistral/large"} <= set(models)
    assert {m["provider"] for m in models.values()} == {"deepseek", "openai", "groq", "mistral", "minimax", "nvidia"}


def test_config_file_keeps_the_last_valid_version(tmp_path):
    path = tmp_path / "gateway.yaml"
    path.write_text(SHIPPED.read_text())
    config = gateway.ConfigFile(path)
    path.write_text("tiers: [")
    assert config.reload_if_changed() == "invalid" and config.last_errors[0].startswith("(yaml):")
    assert "deepseek-v4" in config.current.models


def test_media_models_are_configured_with_their_kind_and_price():
    models = gateway.load(SHIPPED).models
    assert [(models[m]["kind"], models[m]["provider"])
            for m in ("dall-e-3", "minimax-image-01", "minimax-hailuo-2.3")] == [
        ("image", "openai"), ("image", "minimax"), ("video", "minimax")]
    assert models["dall-e-3"]["max_images"] == 1 and models["minimax-hailuo-2.3"]["price_per_video"]


def test_images_and_videos_have_a_quota_weight_with_a_documented_default():
    data = _shipped()
    for name in ("dall-e-3", "minimax-hailuo-2.3"):
        del data["models"][name][f"quota_tokens_per_{data['models'][name]['kind']}"]
    models = gateway.parse(yaml.safe_dump(data)).models
    properties = gateway._validator().schema["$defs"]["model"]["properties"]
    assert gateway.quota_tokens_per_unit(models["dall-e-3"]) == properties["quota_tokens_per_image"]["default"] == 1000
    assert gateway.quota_tokens_per_unit(models["minimax-hailuo-2.3"]) == properties["quota_tokens_per_video"][
        "default"] == 10000
    assert gateway.quota_tokens_per_unit(models["minimax-image-01"]) == 1000  # set in the shipped file
    assert gateway.quota_tokens_per_unit(models["deepseek-v4"]) == 0  # chat models count their tokens


def test_embedding_models_are_configured_with_their_input_price_and_dimensions():
    models = gateway.load(SHIPPED).models
    shipped = {name: (m["provider"], m["upstream_model"], m["price_per_1m"], gateway.embedding_dimensions(m))
               for name, m in models.items() if m.get("kind") == "embedding"}
    assert shipped == {
        "text-embedding-3-small": ("openai", "text-embedding-3-small", {"input": "0.02"}, (1536, 1536)),
        "text-embedding-3-large": ("openai", "text-embedding-3-large", {"input": "0.13"}, (3072, 3072)),
        "mistral/embed": ("mistral", "mistral-embed", {"input": "0.10"}, (1024, None)),
    }
    providers = gateway.load(SHIPPED).providers
    assert providers["openai"]["embeddings_path"] == providers["mistral"]["embeddings_path"] == "/v1/embeddings"


def test_embedding_model_may_leave_dimensions_and_context_window_to_the_provider():
    data = _shipped()
    for key in ("dimensions", "context_window"):
        del data["models"]["mistral/embed"][key]
    assert gateway.validate(data) == []
    assert gateway.embedding_dimensions(data["models"]["mistral/embed"]) == (None, None)


def test_cached_input_prices_are_set_for_openai_and_deepseek_chat_models_and_below_input():
    models = gateway.load(SHIPPED).models
    for name, model in models.items():
        if model.get("kind", "chat") == "chat" and model["provider"] in ("openai", "deepseek"):
            price = model["price_per_1m"]
            assert Decimal(price["cached_input"]) < Decimal(price["input"]), name


def test_a_chat_model_without_cached_price_stays_valid():
    data = _shipped()
    del data["models"]["gpt-5.5"]["price_per_1m"]["cached_input"]
    assert gateway.validate(data) == []
