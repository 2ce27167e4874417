"""Driving the dashboard the way a person does: pages, forms, and what they show."""
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.api import Account

LOADED = ("() => document.querySelector('main').getAttribute('aria-busy') === 'false'"
          " && !document.querySelector('main .loading')")


@dataclass
class Dashboard:
    page: object  # playwright.async_api.Page
    gateway: object
    artifacts: Path
    problems: list = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.gateway.url}{path}"

    async def loaded(self) -> None:
        """The page has drawn and every part of it has finished loading."""
        await self.page.wait_for_function(LOADED)

    async def open(self, path: str) -> None:
        await self.page.goto(self.url(path))
        await self.loaded()

    async def sign_in(self, account: Account, path: str = "/app/") -> None:
        """Start signed in with the account's API session, as the login page leaves it (the login
        page itself is tested in test_accounts.py), and open `path`."""
        await self.page.goto(self.url("/app/login"))
        session = json.dumps({"token": account.token, "expires_at": int(time.time()) + 3600})
        await self.page.evaluate("session => sessionStorage.setItem('clew.session', session)", session)
        await self.open(path)

    async def log_in(self, account: Account, password: str | None = None) -> None:
        await self.open("/app/login")
        await self.page.get_by_label("Email").fill(account.email)
        await self.page.get_by_label("Password").fill(password or account.password)
        await self.page.get_by_role("button", name="Log in").click()
        await self.page.wait_for_url(self.url("/app/"))
        await self.loaded()

    async def alert(self) -> str:
        """The text of the error the page shows."""
        alert = self.page.locator("main [role=alert]:visible").first
        await alert.wait_for()
        return (await alert.inner_text()).strip()

    async def confirm(self, button: str) -> None:
        """Answer the open confirmation dialog with its `button`."""
        await self.page.get_by_role("dialog").get_by_role("button", name=button).click()
        await self.page.get_by_role("dialog").wait_for(state="detached")

    async def overflow(self) -> int:
        """How many CSS pixels the document is wider than the viewport (0: no horizontal scrolling)."""
        return await self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    async def screenshot(self, name: str) -> Path:
        width = self.page.viewport_size["width"]
        path = self.artifacts / f"{name}-{width}px-{self.gateway.backend.name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path
