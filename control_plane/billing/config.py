"""What billing needs to know: Stripe credentials from the environment, the rest from gateway.yaml."""
from dataclasses import dataclass
from decimal import Decimal

from control_plane.services import Services
from schemas.pricing import NANOS_PER_USD

DEFAULT_SUCCESS_URL = "/app/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}"
DEFAULT_CANCEL_URL = "/app/billing?checkout=cancelled"
INCLUDED, METERED = "included", "metered"  # a tier's usage_billing
NANOS_PER_CENT = NANOS_PER_USD // 100


@dataclass(frozen=True)
class Billing:
    secret_key: str
    webhook_secret: str
    api_base: str        # "" means Stripe itself
    success_url: str
    cancel_url: str
    prices: dict         # tier -> Stripe price id
    tiers: dict          # gateway.yaml's tiers
    report_every: float = 300  # seconds between runs of the metered-usage charger
    report_after: float = 900  # seconds after a month ends before its usage is charged

    def tier_for_price(self, price_id: str | None) -> str | None:
        return next((tier for tier, price in self.prices.items() if price == price_id), None)

    def monthly_nanos(self, tier: str) -> int:
        """The tier's subscription price in nano-dollars (0 for a tier gateway.yaml no longer has)."""
        price = self.tiers.get(tier, {}).get("price_usd_month", "0")
        return int((Decimal(price) * NANOS_PER_USD).to_integral_value())

    def is_paid(self, tier: str) -> bool:
        return self.monthly_nanos(tier) > 0

    def usage_billing(self, tier: str) -> str:
        return self.tiers.get(tier, {}).get("usage_billing", INCLUDED)


def to_cents(nanos: int) -> int:
    """What Stripe can charge for `nanos`: whole cents, half a cent rounded up."""
    return (nanos + NANOS_PER_CENT // 2) // NANOS_PER_CENT


def _absolute(public_url: str, url: str) -> str:
    return public_url.rstrip("/") + url if url.startswith("/") else url


def billing(svc: Services) -> Billing:
    section, settings = svc.config.billing, svc.settings
    return Billing(secret_key=settings.stripe_secret_key, webhook_secret=settings.stripe_webhook_secret,
                   api_base=settings.stripe_api_base or section.get("stripe_api_base", ""),
                   success_url=_absolute(settings.public_url, section.get("success_url", DEFAULT_SUCCESS_URL)),
                   cancel_url=_absolute(settings.public_url, section.get("cancel_url", DEFAULT_CANCEL_URL)),
                   prices=dict(section.get("prices", {})), tiers=svc.config.tiers,
                   report_every=section.get("usage_report_interval_seconds", 300),
                   report_after=section.get("usage_report_delay_seconds", 900))
