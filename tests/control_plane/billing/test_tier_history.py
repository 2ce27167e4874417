"""Which tiers an account held within a month, from its history of changes."""
from datetime import UTC, datetime

from control_plane.billing.tiers import held_during
from control_plane.usage.periods import months_between

MARCH, APRIL, MAY = (datetime(2026, m, 1, tzinfo=UTC) for m in (3, 4, 5))
CHANGES = [(datetime(2026, 3, 10, tzinfo=UTC), "free", "pro"), (datetime(2026, 4, 20, tzinfo=UTC), "pro", "free")]


def test_without_changes_the_current_tier_was_always_held():
    assert held_during([], "pro", MARCH, APRIL) == ["pro"]


def test_before_the_first_change_the_tier_was_the_one_it_changed_from():
    assert held_during(CHANGES, "free", datetime(2026, 2, 1, tzinfo=UTC), MARCH) == ["free"]


def test_a_month_holds_the_tier_at_its_start_and_every_change_within_it():
    assert held_during(CHANGES, "free", MARCH, APRIL) == ["free", "pro"]
    assert held_during(CHANGES, "free", APRIL, MAY) == ["pro", "free"]
    assert held_during(CHANGES, "free", MAY, datetime(2026, 6, 1, tzinfo=UTC)) == ["free"]


def test_months_between_runs_from_the_first_month_to_the_last_across_a_year():
    assert months_between(datetime(2025, 11, 30, 23, 59, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)) == [
        datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 2, 1, tzinfo=UTC)]
