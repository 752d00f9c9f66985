"""Signing in as a browser does, for HTTP tests: fetch the form (its nonce cookie and field),
post it from this site, and read the page's anti-CSRF token."""

from __future__ import annotations

import re

import httpx

_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def sign_in(browser: httpx.Client, key: str, next_path: str | None = None) -> httpx.Response:
    """Post the sign-in form with ``key`` the way the page's own form does."""
    form = browser.get("/signin")
    found = _FIELD.search(form.text)
    assert found, "the sign-in form has no csrf_token field"
    data = {"key": key, "csrf_token": found.group(1)}
    if next_path is not None:
        data["next"] = next_path
    origin = f"{browser.base_url.scheme}://{browser.base_url.netloc.decode()}"
    return browser.post("/signin", data=data, headers={"origin": origin})


def csrf_token(browser: httpx.Client) -> str:
    """The session's anti-CSRF token, as a page of this site reads it."""
    answer = browser.get("/v1/session")
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["csrf_token"]
    return token
