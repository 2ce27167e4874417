"""How the control plane serves the dashboard through Envoy: the page for every route under /app/,
versioned assets, and the security headers on all of them."""
import re

import pytest
import yaml
from yarl import URL

from tests.support.api import call

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


async def _get(client, url: str, **kwargs):
    async with client.get(url, allow_redirects=False, **kwargs) as response:
        return response.status, response.headers, await response.text()


async def _asset_base(client, base: str) -> str:
    _, _, html = await _get(client, f"{base}/app/")
    return re.search(r'src="(/app/assets/[0-9a-f]{16})/js/main\.js"', html).group(1)


@pytest.mark.parametrize("path", ["/app/", "/app/keys", "/app/billing", "/app/reset", "/app/no/such/page"])
async def test_every_route_under_app_is_the_page_with_strict_headers(client, base, path):
    status, headers, html = await _get(client, f"{base}{path}")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert html.startswith("<!doctype html>") and '<script type="module"' in html
    assert headers["Content-Security-Policy"] == CSP
    assert (headers["X-Content-Type-Options"], headers["Referrer-Policy"], headers["Cache-Control"]) == \
        ("nosniff", "no-referrer", "no-cache")


async def test_app_without_its_slash_redirects_to_it(client, base):
    status, headers, _ = await _get(client, f"{base}/app")
    assert status == 308 and headers["Location"] == "/app/"


async def test_the_page_has_no_inline_script_or_style(client, base):
    _, _, html = await _get(client, f"{base}/app/")
    assert "<style" not in html and " style=" not in html
    assert all('src="' in tag for tag in re.findall(r"<script[^>]*>", html))


@pytest.mark.parametrize("asset, content_type", [("js/main.js", "text/javascript; charset=utf-8"),
                                                  ("js/pages/billing.js", "text/javascript; charset=utf-8"),
                                                  ("app.css", "text/css; charset=utf-8")])
async def test_assets_of_the_current_version_are_cached_for_a_year(client, base, asset, content_type):
    status, headers, _ = await _get(client, f"{base}{await _asset_base(client, base)}/{asset}")
    assert status == 200 and headers["Content-Type"] == content_type
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["Content-Security-Policy"] == CSP and headers["X-Content-Type-Options"] == "nosniff"


async def test_an_old_versions_asset_url_gets_todays_file_uncached(client, base):
    current = await _asset_base(client, base)
    _, _, today = await _get(client, f"{base}{current}/js/main.js")
    status, headers, body = await _get(client, f"{base}/app/assets/0000000000000000/js/main.js")
    assert status == 200 and body == today and headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("asset", ["js/missing.js", "index.html", "js", ".hidden.js"])
async def test_unknown_or_unservable_assets_are_a_json_404(client, base, asset):
    status, headers, body = await _get(client, f"{base}{await _asset_base(client, base)}/{asset}")
    assert status == 404 and headers["Content-Type"].startswith("application/json") and "unknown_url" in body


@pytest.mark.parametrize("climb", ["js/../../routes.py", "js/%2e%2e/%2e%2e/routes.py",
                                   "%2e%2e/%2e%2e/dashboard/routes.py"])
async def test_a_path_climbing_out_of_the_assets_never_serves_a_file_from_outside(client, base, climb):
    url = URL(f"{base}{await _asset_base(client, base)}/{climb}", encoded=True)
    async with client.get(url, allow_redirects=False) as response:
        body = await response.text()
    assert "import" not in body and not response.headers.get("Content-Type", "").startswith("text/javascript")


async def test_config_lists_the_tiers_of_gateway_yaml_and_the_webhook_events(client, gateway):
    status, body, headers = await call(client, "GET", f"{gateway.url}/app/config.json")
    tiers = yaml.safe_load(gateway.config_path.read_text())["tiers"]
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    assert body["tiers"] == [{"name": name, **{k: tier[k] for k in ("price_usd_month", "requests_per_minute",
                                                                     "monthly_tokens")},
                              "usage_billing": tier.get("usage_billing", "included")}
                             for name, tier in tiers.items()]
    assert "key.created" in body["webhook_events"] and "billing.tier_changed" in body["webhook_events"]
