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
    cached_input_nanos: int | None = None  # per prompt token read from the provider's cache; None: input's

    @classmethod
    def per_million(cls, input_usd: str, output_usd: str, cached_input_usd: str | None = None) -> "TokenPrice":
        cached = None if cached_input_usd is None else price_to_nanos_per_token(cached_input_usd)
        return cls(price_to_nanos_per_token(input_usd), price_to_nanos_per_token(output_usd), cached)

    @classmethod
    def from_config(cls, price_per_1m: dict) -> "TokenPrice":
        """A model's `price_per_1m` from gateway.yaml: `input`, and `output` and `cached_input` when it has
        them (an embedding model has no output price: its answers are not billed)."""
        return cls.per_million(price_per_1m["input"], price_per_1m.get("output", "0"), price_per_1m.get("cached_input"))

    def cost_nanos(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> int:
        """`prompt_tokens` as providers report them, the `cached_tokens` among them included: those are billed
        at the cached price (the input price when the model has none), the rest at the input price."""
        cached = min(max(cached_tokens, 0), prompt_tokens)
        cached_nanos = self.input_nanos if self.cached_input_nanos is None else self.cached_input_nanos
        return ((prompt_tokens - cached) * self.input_nanos + cached * cached_nanos
                + completion_tokens * self.output_nanos)


def usd(nanos: int) -> Decimal:
    return Decimal(nanos) / NANOS_PER_USD


def format_usd(nanos: int) -> str:
    """'0.0000235' style: exact, no exponent, no trailing zeros ('0', '1.5')."""
    return format(usd(nanos).quantize(Decimal("0.000000001")), "f").rstrip("0").rstrip(".")
