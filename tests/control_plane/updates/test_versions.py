"""Semantic versions: SemVer 2.0.0 precedence, as far as packaging.version agrees with it; the rest refused."""
import pytest
from packaging.version import Version

from control_plane.updates.versions import InvalidVersion, parse

# Each strictly older than the next, by SemVer's rules (semver.org §11) and ours alike.
ASCENDING = [
    "0.0.1", "0.1.0", "0.1.1", "0.2.0", "0.10.0",
    "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.2", "1.0.0-alpha.10", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1-alpha", "1.0.1", "1.1.0-rc.1", "1.1.0", "2.0.0", "10.0.0",
]


@pytest.mark.parametrize("older,newer", list(zip(ASCENDING, ASCENDING[1:], strict=False)))
def test_each_version_orders_before_the_next(older, newer):
    assert parse(older) < parse(newer)


def test_the_whole_table_sorts_into_its_own_order():
    assert sorted(ASCENDING[::-1], key=parse) == ASCENDING


@pytest.mark.parametrize("a,b", [("1.0.0+build.5", "1.0.0"), ("1.0.0-rc.1+exp.sha.5114f85", "1.0.0-rc.1"),
                                 ("1.0.0+a", "1.0.0+b")])
def test_build_metadata_is_ignored_in_comparison(a, b):
    assert parse(a) == parse(b)


def test_bare_prerelease_equals_its_dot_zero_the_one_documented_difference_from_semver():
    # SemVer orders 1.0.0-alpha before 1.0.0-alpha.0; packaging gives the missing number 0.
    assert parse("1.0.0-alpha") == parse("1.0.0-alpha.0")


def test_prereleases_are_flagged_and_releases_not():
    assert parse("1.0.0-beta.2").is_prerelease and not parse("1.0.0").is_prerelease


def test_packaging_alone_would_order_build_metadata_after_the_release():
    # Why build metadata is dropped before packaging sees it.
    assert Version("1.0.0+build.5") > Version("1.0.0")


@pytest.mark.parametrize("text", [
    "", "1", "1.0", "1.0.0.0", "v1.0.0", "01.0.0", "1.01.0", "1.0.00", " 1.0.0", "1.0.0 ", "1.0.0-",
    "1.0.0+", "1.0.0-alpha..1", "1.0.0-01", "1.0.0-rc.01", "-1.0.0", "1.0.0.post1", "1!1.0.0", "1.0.0a1",
    "latest", "1.0.0\n", "1.0.0-" + "a" * 70,
])
def test_non_semver_is_refused(text):
    with pytest.raises(InvalidVersion):
        parse(text)


@pytest.mark.parametrize("text", ["1.0.0-dev", "1.0.0-preview.1", "1.0.0-alpha.beta", "1.0.0-beta.rc", "1.0.0-0.3.7",
                                  "1.0.0-x.7.z.92", "1.0.0-RC.1"])
def test_valid_semver_prereleases_outside_alpha_beta_rc_are_refused(text):
    # Valid SemVer, but packaging would order them differently from SemVer (or not at all).
    with pytest.raises(InvalidVersion, match="alpha, beta or rc"):
        parse(text)


def test_non_string_is_refused():
    with pytest.raises(InvalidVersion):
        parse(100)
