"""Prices and costs as exact integers: nano-dollars (1e-9 USD), never floats.

gateway.yaml prices are USD per 1M tokens with at most three decimal places, so one token costs
a whole number of nano-dollars and every sum over the ledger stays exact; per-image and per-video
prices are USD per unit, also whole nano-dollars.
"""
from dataclasses import dataclass
from decimal import Decimal

NANOS_PER_USD = 1_000_000_000


def price_to_nanos_per_token(price_per_1m: str) -> int:
    nanos = Decimal(price_per_1m) * NANOS_PER_USD / 1_000_000
    if nanos != nanos.to_integral_value():
        raise ValueError(f"price {price_per_1m} has more than three decimal places")
    return int(nanos)


def unit_price_nanos(usd: str) -> int:
    """A per-unit price (one image, one video) in nano-dollars: exact for any decimal string with at
    most nine places (gateway.yaml allows three)."""
    nanos = Decimal(usd) * NANOS_PER_USD
    if nanos != nanos.to_integral_value():
        raise ValueError(f"price {usd} is finer than a nano-dollar")
    return int(nanos)


@dataclass(frozen=True)
class TokenPrice:
    input_nanos: int   # per prompt token
    output_nanos: int  # per completion token

    @classmethod
    def per_million(cls, input_usd: str, output_usd: str) -> "TokenPrice":
        return cls(price_to_nanos_per_token(input_usd), price_to_nanos_per_token(output_usd))

    def cost_nanos(self, prompt_tokens: int, completion_tokens: int) -> int:
        return prompt_tokens * self.input_nanos + completion_tokens * self.output_nanos


def usd(nanos: int) -> Decimal:
    return Decimal(nanos) / NANOS_PER_USD


def format_usd(nanos: int) -> str:
    """'0.0000235' style: exact, no exponent, no trailing zeros ('0', '1.5')."""
    return format(usd(nanos).quantize(Decimal("0.000000001")), "f").rstrip("0").rstrip(".")
