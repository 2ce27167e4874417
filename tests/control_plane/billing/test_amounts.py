"""What an invoice owes: the subscription, plus a metered tier's usage to the cent."""
import pytest

from control_plane.billing.config import Billing, to_cents
from control_plane.billing.invoices import amount_due_nanos

TIERS = {"free": {"price_usd_month": "0"}, "pro": {"price_usd_month": "10"},
         "payg": {"price_usd_month": "5", "usage_billing": "metered"}}


@pytest.mark.parametrize(("nanos", "cents"), [(0, 0), (4_999_999, 0), (5_000_000, 1), (14_999_999, 1),
                                              (1_237_067_891, 124), (10**18, 10**11)])
def test_usage_is_charged_to_the_nearest_cent_half_up(nanos, cents):
    assert to_cents(nanos) == cents


def test_a_tier_bills_usage_included_unless_it_says_metered():
    billing = Billing("", "", "", "", "", {}, TIERS)
    assert [billing.usage_billing(tier) for tier in ("free", "pro", "payg", "gone")] == [
        "included", "included", "metered", "included"]


def test_included_usage_owes_only_the_subscription():
    assert amount_due_nanos({"usage_billing": "included", "subscription_nanos": 10 * 10**9}, 250_000_000) == 10 * 10**9


def test_metered_usage_owes_the_subscription_and_the_usage_in_cents():
    month = {"usage_billing": "metered", "subscription_nanos": 5 * 10**9}
    assert amount_due_nanos(month, 1_237_067_891) == 5 * 10**9 + 124 * 10**7


def test_once_charged_a_metered_month_owes_what_was_charged():
    month = {"usage_billing": "metered", "subscription_nanos": 0, "usage_charge_cents": 124}
    assert amount_due_nanos(month, 1_300_000_000) == 124 * 10**7  # usage that landed after the charge is not owed
