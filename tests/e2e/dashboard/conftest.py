"""Browser fixtures for the dashboard tests: Debian's Chromium driven by playwright, one browser
per session and a fresh context (no storage shared) per test.

playwright never downloads a browser here: it drives /usr/bin/chromium (`make test` installs the
`chromium` package when it is missing). Without it the tests are skipped, and under CI=true they fail.
"""
import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.dashboard.browser import Dashboard

CHROMIUM = Path(os.environ.get("CLEW_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "dashboard"


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        on_postgres = params is not None and params.params.get("backend") == "postgres"
        (drop if on_postgres and "dash" in getattr(item, "fixturenames", ()) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the dashboard's browser tests must run")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
async def browser():
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (`make test` installs Debian's chromium package)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def dash(browser, gateway, screenshots):
    """A dashboard in a fresh browser context, at desktop width; fails the test on any uncaught
    script error or Content-Security-Policy violation."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    dashboard = Dashboard(page, gateway, screenshots)
    page.on("pageerror", lambda error: dashboard.problems.append(f"uncaught error: {error}"))
    page.on("console", lambda message: dashboard.problems.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield dashboard
    await context.close()
    assert not dashboard.problems, dashboard.problems
