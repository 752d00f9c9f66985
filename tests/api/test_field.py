"""Issue 24 (a field worker's day on her phone) and issue 22 G/H, over a real server and
Debian's Chromium on a 390×844 viewport: sign in, the work list, acting on an incident with a
note and a photo, offline and back, a conflict, CSRF refusals. Screenshots go to
screenshots/field/ (git-ignored)."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from gis.security.keys import create_key
from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import ROOT, LiveServer, create_api_key
from tests.fixtures import HALF, X0, Y0, small_street_with_categories

SHOTS = ROOT / "screenshots" / "field"
PHONE = {"width": 390, "height": 844}
WORKER = "王芳"
IN_M1 = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}  # micro-grid M1 (grid G1)
IN_M2 = {"lon": X0 + HALF * 1.5, "lat": Y0 + HALF / 2}  # grid G2: not hers


@dataclass
class Field:
    url: str
    live: LiveServer
    worker_key: str  # field worker "王芳", scoped to G1
    admin: httpx.Client
    media: Path

    def incident(self, point: dict[str, float] | None = None, **extra: Any) -> int:
        body = {
            "category": "garbage",
            "description": "楼道堆物",
            "source": "hotline",
            "reported_at": "2026-12-07T09:30:00+08:00",
            "reporter": {"name": "陈先生", "phone": "13812345678"},
            **(point if point is not None else IN_M1),
            **extra,
        }
        answer = self.admin.post("/v1/incidents", json=body)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def get(self, ident: int) -> dict[str, Any]:
        answer = self.admin.get(f"/v1/incidents/{ident}")
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def field(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Field]:
    url = new_database()
    small_street_with_categories(url, tmp_path_factory.mktemp("field"))
    engine = make_engine(url)
    with engine.begin() as conn:
        worker = create_key(conn, role="field_worker", scope="G1", name=WORKER).key
    engine.dispose()
    admin = create_api_key(url, "admin")
    media = tmp_path_factory.mktemp("media")
    settings = Settings(database_url=url, index_check_seconds=0.2, media_dir=media)
    with (
        LiveServer(settings, key=admin) as live,
        httpx.Client(base_url=live.url, timeout=60, headers={"X-API-Key": admin}) as client,
    ):
        yield Field(url, live, worker, client, media)


class Phone:
    """A phone-sized browser context; our own console errors and page exceptions are kept
    (a refused or failed request's console line is the network's, not ours)."""

    def __init__(self, browser: Browser, field: Field) -> None:
        self.field = field
        self.context: BrowserContext = browser.new_context(viewport=PHONE, is_mobile=True)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"{e} {e.stack} at {self.page.url}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def sign_in(self, key: str | None = None) -> None:
        """Sign in through the form: a field worker lands on her work page, officials and
        admins on the dashboard (gis.dashboard.landing)."""
        self.page.goto(self.field.live.url + "/signin")
        self.page.fill("#key", key or self.field.worker_key)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r".*/(maps/work|dashboard)$"))

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


@pytest.fixture
def phone(browser: Browser, field: Field) -> Iterator[Phone]:
    device = Phone(browser, field)
    yield device
    device.close()


def jpeg_with_gps() -> bytes:
    """A small JPEG carrying an EXIF GPS position and a capture time."""
    from PIL import Image

    image = Image.new("RGB", (640, 480), (200, 120, 40))
    exif = Image.Exif()
    exif[0x0132] = "2026:12:07 10:15:00"
    exif.get_ifd(0x8769)[36867] = "2026:12:07 10:15:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (31.0, 15.0, 0.0), "E", (121.0, 24.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def exif_of(data: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(data)).getexif()


def transitions_to(feature: dict[str, Any], state: str) -> list[dict[str, Any]]:
    timeline = feature["properties"]["timeline"]
    return [e for e in timeline if e["kind"] == "transition" and e["to"] == state]


def test_her_day_sign_in_list_act_with_note_and_photo(phone: Phone, field: Field) -> None:
    mine = [field.incident(), field.incident(), field.incident()]
    theirs = field.incident(IN_M2)
    phone.sign_in()
    page = phone.page
    listed = {
        int(x)
        for x in page.locator("[data-incident-id]").evaluate_all(
            "els => els.map(e => e.getAttribute('data-incident-id'))"
        )
    }
    assert set(mine) <= listed and theirs not in listed
    expect(page.locator("header h1")).not_to_contain_text("G1")  # the grid's name, not its code
    expect(page.locator("#list")).to_contain_text("垃圾")  # category in Chinese
    phone.shot("work")
    ident = mine[0]
    page.click(f'li[data-incident-id="{ident}"] > a')
    page.wait_for_url(re.compile(rf".*/maps/incident/{ident}$"))
    expect(page.locator("main")).to_contain_text("138****5678")  # masked, and no tap-to-call
    expect(page.locator('a[href^="tel:138"]')).to_have_count(0)
    buttons = page.locator("button[data-transition]").evaluate_all(
        "els => els.map(e => e.getAttribute('data-transition'))"
    )
    assert buttons == ["in_progress", "extended", "returned"]  # 已派遣: a field worker's steps
    phone.shot("incident-before")
    page.click('button[data-transition="in_progress"]')
    expect(page.locator("#status-name")).to_have_text("处置中", timeout=15000)
    page.fill('textarea[name="note"]', "已清理完毕")
    page.set_input_files(
        'input[type="file"][name="photo"]',
        files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}],
    )
    page.click('button[data-transition="resolved"]')
    expect(page.locator("#status-name")).to_have_text("已办结", timeout=15000)
    expect(page.locator("#photos img")).to_have_count(1, timeout=15000)
    phone.shot("incident-resolved")
    stored = field.get(ident)
    assert stored["properties"]["status"] == "resolved"
    done = transitions_to(stored, "resolved")
    assert len(done) == 1 and done[0]["actor"] == WORKER and done[0]["note"] == "已清理完毕"
    assert transitions_to(stored, "in_progress")[0]["actor"] == WORKER
    photos = stored["properties"]["photos"]
    assert len(photos) == 1
    data = field.admin.get(photos[0]).content
    exif = exif_of(data)
    assert 0x8825 not in exif  # no GPS block
    assert exif.get_ifd(0x8769).get(36867) == "2026:12:07 10:15:00"  # capture time kept


def test_offline_between_opening_and_sending_stores_once(phone: Phone, field: Field) -> None:
    ident = field.incident()
    phone.sign_in()
    page = phone.page
    page.goto(f"{field.live.url}/maps/incident/{ident}")
    phone.context.set_offline(True)
    page.fill('textarea[name="note"]', "地下室无信号")
    page.click('button[data-transition="in_progress"]')
    expect(page.locator("#notice")).to_contain_text("离线保存", timeout=10000)
    phone.shot("incident-offline-queued")
    assert field.get(ident)["properties"]["status"] == "assigned"  # nothing sent yet
    phone.context.set_offline(False)
    expect(page.locator("#status-name")).to_have_text("处置中", timeout=20000)
    stored = field.get(ident)
    moves = transitions_to(stored, "in_progress")
    assert len(moves) == 1 and moves[0]["actor"] == WORKER and moves[0]["note"] == "地下室无信号"
    # the phone's resend of the same action (same client-made id) stores nothing twice
    client_id = "resend-test-0001"
    body = {"to": "resolved", "client_id": client_id}
    first = field.admin.post(f"/v1/incidents/{ident}/transitions", json=body)
    again = field.admin.post(f"/v1/incidents/{ident}/transitions", json=body)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json()
    assert len(transitions_to(field.get(ident), "resolved")) == 1


def test_a_conflict_while_offline_is_shown_to_her(phone: Phone, field: Field) -> None:
    ident = field.incident()
    phone.sign_in()
    page = phone.page
    page.goto(f"{field.live.url}/maps/incident/{ident}")
    phone.context.set_offline(True)
    page.click('button[data-transition="in_progress"]')
    expect(page.locator("#notice")).to_contain_text("离线保存", timeout=10000)
    moved = field.admin.post(
        f"/v1/incidents/{ident}/transitions", json={"to": "returned", "note": "派错网格"}
    )
    assert moved.status_code == 200, moved.text
    phone.context.set_offline(False)
    expect(page.locator("#notice")).to_contain_text("冲突", timeout=20000)
    expect(page.locator("#notice")).to_contain_text("已回退")
    expect(page.locator("#status-name")).to_have_text("已回退")  # the state it is in now
    phone.shot("incident-conflict")
    stored = field.get(ident)
    assert stored["properties"]["status"] == "returned"
    assert not transitions_to(stored, "in_progress")


class _Attacker(BaseHTTPRequestHandler):
    target = ""
    fields: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        inputs = "".join(
            f'<input type="hidden" name="{k}" value="{v}">' for k, v in self.fields.items()
        )
        body = (
            f'<!doctype html><form id="f" method="post" action="{self.target}"'
            f' enctype="multipart/form-data">{inputs}</form>'
            '<script>document.getElementById("f").submit()</script>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def attacker_site(target: str, fields: dict[str, str]) -> ThreadingHTTPServer:
    handler = type("Handler", (_Attacker,), {"target": target, "fields": fields})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_cross_origin_and_token_less_writes_are_refused(phone: Phone, field: Field) -> None:
    ident = field.incident()
    phone.sign_in()
    page = phone.page
    # another origin's page auto-posts a form to the API with her cookie
    evil = attacker_site(f"{field.live.url}/v1/incidents/{ident}/photos", {"stage": "after"})
    try:
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        page.wait_for_load_state("load")
        expect(page.locator("h1")).to_have_text("无权访问")  # the HTML error page
        # and a sign-in form posted from there (login CSRF) does not sign her in as the attacker
        evil_signin = attacker_site(
            f"{field.live.url}/signin", {"key": create_api_key(field.url, "admin")}
        )
        try:
            page.goto(f"http://127.0.0.1:{evil_signin.server_address[1]}/")
            page.wait_for_load_state("load")
            expect(page.locator(".error")).to_contain_text("本站")
        finally:
            evil_signin.shutdown()
            evil_signin.server_close()
    finally:
        evil.shutdown()
        evil.server_close()
    page.goto(f"{field.live.url}/maps/incident/{ident}")
    me = page.evaluate("fetch('/v1/me').then(r => r.json())")
    assert me["name"] == WORKER  # still herself
    refused = page.evaluate(
        """id => fetch('/v1/incidents/' + id + '/transitions', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({to: 'in_progress'})}).then(r => r.status)""",
        ident,
    )
    assert refused == 403
    assert field.get(ident)["properties"]["status"] == "assigned"
    page.click('button[data-transition="in_progress"]')  # the page's own write succeeds
    expect(page.locator("#status-name")).to_have_text("处置中", timeout=15000)


def test_incident_page_without_a_location_and_error_pages(phone: Phone, field: Field) -> None:
    ident = field.incident({"address": "不存在的路999号"})
    assert field.get(ident)["properties"]["location_status"] == "needs_review"
    phone.sign_in(field.admin.headers["X-API-Key"])  # unlocated: owned by nobody, so unscoped
    page = phone.page
    answer = page.goto(f"{field.live.url}/maps/incident/{ident}")
    assert answer is not None and answer.status == 200
    expect(page.locator("main")).to_contain_text("位置待核实")
    expect(page.locator("main")).not_to_contain_text("needs_review")
    expect(page.locator('a[href="tel:13812345678"]')).to_have_count(1)  # admins see phones
    phone.shot("incident-no-location")
    missing = page.goto(f"{field.live.url}/maps/incident/99999999")
    assert missing is not None and missing.status == 404
    expect(page.locator("h1")).to_have_text("未找到")
    api = field.admin.get("/v1/incidents/99999999")
    assert api.headers["content-type"].startswith("application/problem+json")


def test_the_actor_is_the_keys_holder_unless_the_key_acts_for_others(field: Field) -> None:
    from gis.field.actions import allow_acting_for_others

    ident = field.incident()
    path = f"/v1/incidents/{ident}/transitions"
    with httpx.Client(
        base_url=field.live.url, timeout=30, headers={"X-API-Key": field.worker_key}
    ) as worker:
        posing = worker.post(path, json={"to": "in_progress", "actor": "冒名者"})
        assert posing.status_code == 422 and posing.json()["field"] == "actor"
        assert worker.post(path, json={"to": "in_progress"}).status_code == 200
        # 结案 is not a field worker's step, whatever the state allows
        assert worker.post(path, json={"to": "closed"}).status_code == 403
    engine = make_engine(field.url)
    with engine.begin() as conn:
        desk = create_key(conn, role="field_worker", scope="G1", name="街道调度台")
        allow_acting_for_others(conn, desk.key_id)
    engine.dispose()
    with httpx.Client(base_url=field.live.url, timeout=30, headers={"X-API-Key": desk.key}) as http:
        assert http.post(path, json={"to": "resolved", "actor": "李强"}).status_code == 200
    step = transitions_to(field.get(ident), "resolved")[0]
    assert (step["actor"], step["by"]) == ("李强", "街道调度台")
    assert transitions_to(field.get(ident), "in_progress")[0]["actor"] == WORKER


def test_she_is_linked_only_to_what_she_may_open(field: Field) -> None:
    with httpx.Client(
        base_url=field.live.url, timeout=120, headers={"X-API-Key": field.worker_key}
    ) as worker:
        index = worker.get("/maps/")
        links = set(re.findall(r'href="([^"?#]+)', index.text))
        assert {"work", "overview", "coverage"} <= links
        for link in links - {"/docs"}:
            target = link if link.startswith("/") else f"/maps/{link}"
            assert worker.get(target).status_code == 200, target
        findings = worker.get("/v1/coverage", params={"checks": "gap"})
        assert findings.status_code == 200  # her scope's findings, read-only
        assert worker.post("/v1/coverage", json={}).status_code in (403, 405)
        assert worker.get("/v1/audit").status_code == 403
