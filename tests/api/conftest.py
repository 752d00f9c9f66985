"""Fixtures shared by the API tests."""

from tests.api.ogc_fixtures import demo_server, gdal  # noqa: F401 (fixtures)
from tests.browser import browser, browser_page  # noqa: F401 (fixtures)
