"""Incident photos over HTTP (issue 24 item 4): type by content, limits, GPS removed unless
kept, capture time kept, thumbnails, content-addressed storage, scoped reads, audited
deletion, Open311 media_url and the incident's ``photos``."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gis.settings import Settings
from tests.api.test_field import IN_M1, IN_M2, exif_of, jpeg_with_gps
from tests.conftest import LiveServer, create_api_key
from tests.fixtures import small_street_with_categories


def image(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, format=kind)
    return out.getvalue()


class Site:
    def __init__(self, live: LiveServer, url: str, media: Path) -> None:
        self.live, self.url, self.media = live, url, media
        self.admin = live.client()
        self.worker_g1 = live.client(key=create_api_key(url, "field_worker", "G1"))
        self.worker_g2 = live.client(key=create_api_key(url, "field_worker", "G2"))

    def incident(self, point: dict[str, float]) -> int:
        body = {"category": "garbage", "description": "堆物", "source": "app", **point}
        answer = self.admin.post("/v1/incidents", json=body)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])


@pytest.fixture(scope="module")
def site(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    url = new_database()
    small_street_with_categories(url, tmp_path_factory.mktemp("photos"))
    media = tmp_path_factory.mktemp("media")
    settings = Settings(database_url=url, media_dir=media, photo_max_bytes=200_000)
    with LiveServer(settings) as live:
        yield Site(live, url, media)


def upload(
    http: httpx.Client, ident: int, data: bytes, name: str = "a.jpg", **form: str
) -> httpx.Response:
    return http.post(
        f"/v1/incidents/{ident}/photos",
        files=[("photo", (name, data, "application/octet-stream"))],
        data=form,
    )


def test_a_photo_is_cleaned_stored_once_and_listed(site: Site) -> None:
    ident = site.incident(IN_M1)
    first = upload(site.worker_g1, ident, jpeg_with_gps(), stage="before")
    assert first.status_code == 201, first.text
    photo = first.json()["photos"][0]
    assert photo["stage"] == "before" and photo["taken_at"].startswith("2026-12-07T10:15")
    again = upload(site.worker_g1, ident, jpeg_with_gps(), stage="after")
    assert again.status_code == 201
    stored = [p for p in site.media.rglob("*.jpg") if ".thumb" not in p.name]
    assert len(stored) == 1  # content-addressed: the same photo is one file
    data = site.admin.get(photo["url"])
    assert data.headers["content-type"] == "image/jpeg" and 0x8825 not in exif_of(data.content)
    thumb = site.admin.get(photo["thumb_url"])
    assert thumb.status_code == 200 and max(_size(thumb.content)) <= 320
    listed = site.admin.get(f"/v1/incidents/{ident}").json()["properties"]["photos"]
    assert listed == [photo["url"], again.json()["photos"][0]["url"]]
    requests = site.admin.get("/open311/v2/requests.json", params={"service_request_id": ident})
    assert requests.json()[0]["media_url"] == photo["url"]


def _size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(data)).size  # type: ignore[no-any-return]


@pytest.mark.parametrize(("kind", "media_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_the_type_comes_from_the_content_not_the_name(
    site: Site, kind: str, media_type: str
) -> None:
    ident = site.incident(IN_M1)
    answer = upload(site.worker_g1, ident, image(kind), name="photo.jpg")
    assert answer.status_code == 201, answer.text
    assert answer.json()["photos"][0]["media_type"] == media_type
    served = site.admin.get(answer.json()["photos"][0]["url"])
    assert served.headers["content-type"] == media_type


def test_heic_is_read_and_stored_as_jpeg(site: Site) -> None:
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, format="HEIF")
    answer = upload(site.worker_g1, site.incident(IN_M1), out.getvalue(), name="IMG_0001.HEIC")
    assert answer.status_code == 201, answer.text
    assert answer.json()["photos"][0]["media_type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"<html>not a photo</html>", 422),
        (image("GIF"), 422),
        (jpeg_with_gps()[:400], 422),  # cut short
        (image("BMP", (400, 400)), 413),  # over WANGGE_PHOTO_MAX_BYTES (200 kB here)
    ],
    ids=["text", "gif", "truncated", "too-large"],
)
def test_what_is_not_a_photo_is_refused(site: Site, data: bytes, status: int) -> None:
    answer = upload(site.worker_g1, site.incident(IN_M1), data)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == "photo"


def test_photos_follow_the_incident_scope_and_deletion_is_audited(site: Site) -> None:
    ident = site.incident(IN_M1)
    url = upload(site.worker_g1, ident, image("PNG")).json()["photos"][0]["url"]
    assert site.worker_g2.get(url).status_code == 404  # another grid's worker: not found
    assert upload(site.worker_g2, ident, image("PNG")).status_code == 404
    assert site.worker_g2.delete(url).status_code == 404
    assert site.worker_g1.delete(url).status_code == 204
    assert site.admin.get(url).status_code == 404
    assert site.admin.get(f"/v1/incidents/{ident}").json()["properties"]["photos"] == []
    log = site.admin.get("/v1/audit", params={"action": "incident.photo_delete"}).json()
    assert log["entries"][0]["target"] == f"incident/{ident}"


def test_gps_is_kept_when_the_deployment_asks(site: Site) -> None:
    settings = Settings(database_url=site.url, media_dir=site.media, photo_keep_gps=True)
    with LiveServer(settings) as live, live.client() as http:
        ident = int(
            http.post(
                "/v1/incidents",
                json={"category": "garbage", "source": "app", **IN_M2},
            ).json()["id"]
        )
        photo = upload(http, ident, jpeg_with_gps()).json()["photos"][0]
        assert 0x8825 in exif_of(http.get(photo["url"]).content)
