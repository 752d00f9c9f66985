"""The OGC HTML pages in headless Chromium: they render, link to each other and draw the
features (no console errors: the page fixture fails the test on any)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.ogc_fixtures import DemoServer


@pytest.fixture
def browser_headers(demo_server: DemoServer) -> dict[str, str]:
    """The page (and every request it makes) sends the server's API key."""
    return demo_server.headers


def test_landing_page_renders_and_leads_to_the_features(
    demo_server: DemoServer, browser_page: Any
) -> None:
    page = browser_page
    response = page.goto(f"{demo_server.url}/ogc/")  # a browser asks for text/html
    assert response is not None and response.status == 200
    assert page.title() == "wangge OGC API – Features"
    assert page.locator("h1").inner_text() == "wangge OGC API – Features"
    assert page.locator("a[rel=data]").count() == 1
    page.locator("a[rel=data]").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Collections"
    assert page.locator("tbody tr").count() == 9  # with incidents
    page.locator("tbody tr", has_text="micro_grid").get_by_text("features").click()
    page.wait_for_load_state()
    assert "features" in page.locator("h1").inner_text()
    assert page.locator("svg path").count() == page.locator("tbody tr").count() == 100
    box = page.locator("svg").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200
    page.locator("a[rel=next]").first.click()
    page.wait_for_load_state()
    assert "offset=100" in page.url and page.locator("tbody tr").count() == 100
