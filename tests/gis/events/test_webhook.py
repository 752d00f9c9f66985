"""Webhook requests (gis/events/webhook.py): signatures that verify and tampering that does
not, the SSRF checks on URLs and on the address actually connected to."""

from __future__ import annotations

import time

import pytest

from gis.errors import InvalidInput
from gis.events.webhook import Refused, check_url, post, public, sign, verify
from tests.api.webhook_receiver import Receiver


def test_signature_round_trip_and_tampering() -> None:
    body = b'{"id": 7, "type": "incident.created"}'
    header = sign("whsec_x", body)
    assert header.startswith("t=") and ",v1=" in header
    assert verify("whsec_x", body, header)
    assert not verify("whsec_y", body, header)
    assert not verify("whsec_x", body + b" ", header)
    old = sign("whsec_x", body, int(time.time()) - 3600)
    assert not verify("whsec_x", body, old) and verify("whsec_x", body, old, tolerance_s=None)
    assert not verify("whsec_x", body, "garbage")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_only_public_addresses_are_allowed(address: str, allowed: bool) -> None:
    assert public(address) is allowed


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://[::1]/x",
        "http://0x7f000001/x",
        "file:///etc/passwd",
        "gopher://example.org/",
        "http:///nohost",
        "http://a@example.org/",
        "http://example.org/a b",
        "http://" + "a" * 2000 + ".org/",
    ],
)
def test_urls_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_url(url, allow_private=False)
    assert refused.value.field == "url"


def test_post_to_loopback_only_when_private_addresses_are_allowed() -> None:
    receiver = Receiver().start()
    try:
        with pytest.raises(Refused):
            post(receiver.url + "/h", b"{}", {}, timeout_s=5, allow_private=False)
        assert receiver.received() == []
        status = post(receiver.url + "/h", b"{}", {"X-T": "1"}, timeout_s=5, allow_private=True)
        assert status == 204 and receiver.received()[0].headers["x-t"] == "1"
    finally:
        receiver.stop()
    with pytest.raises(Refused):  # nobody listens there any more
        post(receiver.url + "/h", b"{}", {}, timeout_s=5, allow_private=True)
