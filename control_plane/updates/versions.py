"""Semantic versions of the Clew Code CLI: strict SemVer 2.0.0 syntax, ordered by packaging.version.

packaging implements PEP 440, not SemVer. Both agree on MAJOR.MINOR.PATCH and on pre-releases
named alpha, beta or rc with an optional numeric part, so that is the subset accepted:

    1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0

Where they would disagree, the input is refused rather than ordered wrongly:
- other pre-release names (`1.0.0-dev`, `-preview`, `-alpha.beta`): PEP 440 orders `dev` before
  alpha and reads `preview` as rc; SemVer orders identifiers by ASCII. Refused.
- build metadata (`1.0.0+build.5`) is accepted and, as SemVer says, ignored when comparing
  (PEP 440 would order a local version after the plain one): it is dropped before packaging sees it.
- `v1.0.0`, `1.0`, `1.0.0.0`, leading zeros, `1.0.0.post1`, epochs: valid PEP 440, not SemVer. Refused.
One difference remains, documented and tested: `1.0.0-alpha` equals `1.0.0-alpha.0` here
(PEP 440 gives the missing number 0), while SemVer orders `alpha` first.
"""
import re

from packaging.version import Version

MAX_LENGTH = 64
# The regular expression of semver.org, verbatim.
SEMVER = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
PRERELEASE = re.compile(r"^(?P<name>alpha|beta|rc)(?:\.(?P<number>0|[1-9]\d*))?$")
PEP440_NAMES = {"alpha": "a", "beta": "b", "rc": "rc"}


class InvalidVersion(ValueError):
    """Not a version we accept; the message says what is expected."""


def parse(text: str) -> Version:
    """The comparable version of `text`, or InvalidVersion."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        raise InvalidVersion(f"A version is a string of at most {MAX_LENGTH} characters")
    match = SEMVER.fullmatch(text)
    if match is None:
        raise InvalidVersion(f"'{text}' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.2 or 1.5.0-beta.1)")
    core = f"{match['major']}.{match['minor']}.{match['patch']}"
    if match["prerelease"] is None:
        return Version(core)
    pre = PRERELEASE.fullmatch(match["prerelease"])
    if pre is None:
        raise InvalidVersion(f"'{text}': a pre-release must be alpha, beta or rc, optionally followed by .N "
                             "(e.g. 1.5.0-rc.1)")
    return Version(f"{core}{PEP440_NAMES[pre['name']]}{pre['number'] or 0}")


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except InvalidVersion:
        return False
    return True
