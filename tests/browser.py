"""Headless Chromium for tests that render HTML (Debian's ``chromium`` package, driven by
Playwright's Python API; ``playwright install`` is never needed).

Use the fixtures by importing them into a test module (or a conftest)::

    from tests.browser import browser, browser_page  # noqa: F401 (fixtures)

``browser_page`` fails the test on any console error or uncaught page error. Every request of
its page sends the headers of the ``browser_headers`` fixture (override it in a test module to
send the API key: ``return server.headers``), so fetches made by the page carry them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the session (launch takes a second or two)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser_headers() -> dict[str, str]:
    """Extra HTTP headers for every request of ``browser_page`` (none unless overridden)."""
    return {}


@pytest.fixture
def browser_page(browser: Any, browser_headers: dict[str, str]) -> Iterator[Any]:
    """A fresh page sending ``browser_headers``; console errors and uncaught exceptions fail
    the test at teardown."""
    context = browser.new_context(extra_http_headers=browser_headers)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"the page logged errors: {errors}"
