"""Token prices in exact nano-dollars: cached prompt tokens at their own price, never a float."""
from decimal import Decimal
from pathlib import Path

import pytest

from schemas import gateway
from schemas.pricing import TokenPrice, format_usd, price_to_nanos_per_token

SHIPPED = Path(__file__).resolve().parents[2] / "gateway.yaml"


def test_cached_tokens_are_billed_at_the_cached_price_and_the_rest_at_input():
    price = TokenPrice.per_million("1.50", "4.00", "0.15")  # 1500, 4000 and 150 nanos a token
    assert price.cost_nanos(1000, 10, cached_tokens=600) == 400 * 1500 + 600 * 150 + 10 * 4000 == 730_000


def test_without_a_cached_price_cached_tokens_cost_the_input_price():
    price = TokenPrice.per_million("0.50", "1.50")
    assert price.cached_input_nanos is None
    assert price.cost_nanos(1000, 10, cached_tokens=600) == price.cost_nanos(1000, 10) == 1000 * 500 + 10 * 1500


def test_cached_tokens_are_clamped_to_the_prompt():
    price = TokenPrice.per_million("1", "2", "0.1")
    assert price.cost_nanos(100, 0, cached_tokens=500) == 100 * 100
    assert price.cost_nanos(100, 0, cached_tokens=-5) == 100 * 1000


def test_costs_are_exact_integers_at_any_scale():
    price = TokenPrice.per_million("0.13", "0", "0.013")
    cost = price.cost_nanos(10**12 + 7, 0, cached_tokens=3)
    assert isinstance(cost, int) and cost == (10**12 + 4) * 130 + 3 * 13
    assert Decimal(format_usd(cost)) == Decimal(cost) / 10**9


def test_from_config_reads_every_shipped_model_price():
    models = gateway.load(SHIPPED).models
    gpt = TokenPrice.from_config(models["gpt-5.5"]["price_per_1m"])
    assert (gpt.input_nanos, gpt.cached_input_nanos, gpt.output_nanos) == (10_000, 1_000, 40_000)
    embed = TokenPrice.from_config(models["text-embedding-3-small"]["price_per_1m"])
    assert (embed.input_nanos, embed.cached_input_nanos, embed.output_nanos) == (20, None, 0)
    assert embed.cost_nanos(1_000_000, 0) == 20_000_000  # $0.02 per 1M tokens
    for model in models.values():
        if "price_per_1m" in model:
            TokenPrice.from_config(model["price_per_1m"])  # none raises


def test_a_price_finer_than_a_nano_dollar_a_token_is_refused():
    with pytest.raises(ValueError):
        price_to_nanos_per_token("0.0001")
