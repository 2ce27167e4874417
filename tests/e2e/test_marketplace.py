"""GET /v1/plugins and GET /v1/plugins/:name through Envoy, against the shipped catalog (public)."""
import pytest

from control_plane.marketplace.catalog import SHIPPED, read_catalog
from tests.support.api import call

ROWS, TAGS = read_catalog(SHIPPED)
NAMES = {row["name"] for row in ROWS}


async def _names(client, base: str, **params) -> list[str]:
    status, body, _ = await call(client, "GET", f"{base}/v1/plugins", params=params)
    assert status == 200, body
    return [p["name"] for p in body["data"]]


async def test_list_without_filters_holds_the_whole_catalog(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/plugins", params={"limit": "100"})
    assert status == 200 and body["object"] == "list" and body["has_more"] is False
    assert {p["name"] for p in body["data"]} == NAMES
    assert set(body["data"][0]) == {"name", "object", "description", "author", "tags", "latest_version", "repository"}


async def test_pages_follow_each_other_without_gaps_or_repeats(client, base):
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": "3", **({"after": after} if after else {})}
        status, body, _ = await call(client, "GET", f"{base}/v1/plugins", params=params)
        assert status == 200 and len(body["data"]) <= 3
        seen += [p["name"] for p in body["data"]]
        pages += 1
        if not body["has_more"]:
            break
        after = body["last_id"]
    assert sorted(seen) == sorted(NAMES) and len(seen) == len(NAMES)
    assert pages == -(-len(NAMES) // 3)
    assert seen == await _names(client, base, limit="100")  # the same order as one big page


async def test_tag_filter_returns_exactly_the_tagged_plugins(client, base):
    tag = "devops"
    expected = {name for name, tags in TAGS.items() if tag in tags}
    assert expected  # the shipped catalog tags something with it
    assert set(await _names(client, base, tag=tag)) == expected


async def test_unknown_tag_is_an_empty_list(client, base):
    assert await _names(client, base, tag="no-such-tag") == []


async def test_search_matches_name_case_insensitively(client, base):
    assert await _names(client, base, q="GIT-ASS") == ["git-assist"]


async def test_search_matches_the_description(client, base):
    expected = {r["name"] for r in ROWS if "kubectl" in r["description"].lower()}
    assert expected and set(await _names(client, base, q="kubectl")) == expected


async def test_search_and_tag_combine(client, base):
    both = {r["name"] for r in ROWS if "workflow" in TAGS[r["name"]]
            and ("commit" in r["name"] or "commit" in r["description"].lower())}
    assert both and set(await _names(client, base, q="commit", tag="workflow")) == both


@pytest.mark.parametrize("q", ["%", "_", "\\", "%git%", "' OR 1=1 --"])
async def test_search_wildcards_and_quotes_are_literal(client, base, q):
    expected = {r["name"] for r in ROWS if q.lower() in r["name"] or q.lower() in r["description"].lower()}
    assert set(await _names(client, base, q=q)) == expected


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"limit": "-1"},
                                    {"q": "x" * 101}, {"tag": "t" * 33}])
async def test_bad_list_parameters_are_400(client, base, params):
    status, body, _ = await call(client, "GET", f"{base}/v1/plugins", params=params)
    assert status == 400 and body["error"]["param"] == next(iter(params))


async def test_details_carry_versions_tags_repository_and_install_command(client, base):
    row = next(r for r in ROWS if r["name"] == "git-assist")
    status, body, _ = await call(client, "GET", f"{base}/v1/plugins/git-assist")
    assert status == 200
    assert body == {**body, "name": "git-assist", "description": row["description"], "author": row["author"],
                    "repository": row["repository"], "install_command": row["install_command"],
                    "latest_version": row["latest_version"], "tags": sorted(TAGS["git-assist"])}
    assert [v["version"] for v in body["versions"]] == [v["version"] for v in row["versions"]]


async def test_unknown_plugin_is_404(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/plugins/no-such-plugin")
    assert status == 404 and body["error"]["code"] == "plugin_not_found"


async def test_marketplace_needs_no_credentials_and_ignores_bad_ones(client, base):
    status, _, _ = await call(client, "GET", f"{base}/v1/plugins", headers={"Authorization": "Bearer nonsense"})
    assert status == 200
