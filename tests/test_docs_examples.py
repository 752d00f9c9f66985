"""The documentation's curl examples, run against a server on the demo street as `make demo`
loads it (boundaries, registers, addresses and the 90-day incident history), so that they
cannot go stale: each answers the status its page shows (a ``# HTTP/1.1 NNN`` or ``# NNN``
comment, or a ``"status":NNN`` in the answer shown), or a success when the page shows none.

Pages are read in the order of PAGES (examples that report incidents create ids in the order
the pages quote them). A page joins by being listed here."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import DEMO_DATA, ROOT, LiveServer, create_api_key

PAGES = [
    "README.md",
    "docs/index.md",
    "docs/getting-started.md",
    "docs/http-api.md",
    "docs/assignment.md",
    "docs/api-keys.md",
    "docs/geocoding.md",
    "docs/incidents.md",
    "docs/coverage.md",
    "docs/maps.md",
    "docs/ogc-features.md",
    "docs/limits.md",
    "docs/operations.md",
]

#: Examples that need a state the demo server does not have, with where that state is tested.
NEEDS_ANOTHER_STATE = {
    "with the cluster stopped": "a stopped database: tests/api/test_outage.py",
    "curl -si -X POST http://127.0.0.1:8000/v1/incidents": "a stopped database: "
    "tests/api/test_reliability.py",
    "v1/incidents/export.csv'\n": "WANGGE_MAX_EXPORT_ROWS=1000: tests/api/test_limits.py",
    "If-None-Match": "an ETag of a tile read before: tests/api/test_maps.py",
}

BLOCK = re.compile(r"```(?:sh|bash|console|shell)\n(.*?)```", re.S)
STATUS = re.compile(r'HTTP/1\.1 (\d{3})|^# (\d{3})\b|"status":(\d{3})')


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    command: str
    shown: str  # the comment lines or console output that follow it

    def expected(self) -> int | None:
        for line in self.shown.splitlines():
            m = STATUS.search(line.strip())
            if m:
                return int(next(g for g in m.groups() if g))
        return None


def examples(page: str) -> list[Example]:
    text = (ROOT / page).read_text(encoding="utf-8")
    out = []
    for block in BLOCK.finditer(text):
        first = text.count("\n", 0, block.start(1)) + 1
        lines = block.group(1).splitlines()
        i = 0
        while i < len(lines):
            line = lines[i].removeprefix("$ ")
            if not line.startswith("curl "):
                i += 1
                continue
            start, command = i, line
            while command.rstrip().endswith("\\") or not _complete(command):
                i += 1
                command += "\n" + lines[i]
            i += 1
            shown = []
            while i < len(lines) and not lines[i].removeprefix("$ ").startswith(("curl ",)):
                if lines[i].startswith("$ "):
                    break
                shown.append(lines[i])
                i += 1
            out.append(Example(page, first + start, command, "\n".join(shown)))
    return out


def _complete(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


ALL = [e for page in PAGES for e in examples(page)]


@dataclass
class Demo:
    server: LiveServer
    env: dict[str, str]


@pytest.fixture(scope="module")
def demo(new_database: Callable[[], str]) -> Iterator[Demo]:
    from gis.demo_load import load_demo, load_demo_history

    url = new_database()
    engine = make_engine(url)
    with engine.begin() as conn:
        load_demo(conn, DEMO_DATA)
    load_demo_history(engine)
    engine.dispose()
    env = {
        **os.environ,
        "KEY": create_api_key(url),
        "FIELD_WORKER_KEY": create_api_key(url, "field_worker", "310107016007-G02"),
        "HOTLINE_KEY": create_api_key(url, "integration"),
    }
    with LiveServer(Settings(database_url=url), key=env["KEY"]) as server:
        yield Demo(server, env)


def test_the_pages_have_examples() -> None:
    assert len(ALL) > 40
    assert all(e.command.startswith("curl ") for e in ALL)


def _needs_another_state(example: Example) -> str | None:
    whole = example.command + "\n"
    return next((why for key, why in NEEDS_ANOTHER_STATE.items() if key in whole), None)


def test_every_example_answers_as_its_page_shows(demo: Demo, tmp_path: Path) -> None:
    wrong = []
    ran = 0
    host = demo.server.url
    for example in ALL:
        if _needs_another_state(example):
            continue
        command = example.command.replace("http://127.0.0.1:8000", host)
        command = re.sub(r"(?<![\w/])localhost:8000", host, command)
        if " -w " not in command:  # the status, printed last
            command = "curl -w '\\n%{http_code}' " + command.removeprefix("curl ")
        run = subprocess.run(
            ["bash", "-c", command],
            capture_output=True,
            text=True,
            env=demo.env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        ran += 1
        status = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else "none"
        want = example.expected()
        ok = status.isdigit() and (
            int(status) == want if want is not None else 200 <= int(status) < 400
        )
        if run.returncode != 0 or not ok:
            wrong.append(
                f"{example.page}:{example.line}: {example.command.splitlines()[0][:90]} -> "
                f"{status} (want {want or '2xx/3xx'}): {run.stdout[-300:]!r} {run.stderr[-200:]}"
            )
    assert ran > 40
    assert not wrong, "\n".join(wrong)


def test_the_excluded_examples_exist() -> None:
    """Every entry of NEEDS_ANOTHER_STATE still matches an example (none goes stale)."""
    for key in NEEDS_ANOTHER_STATE:
        assert any(key in e.command + "\n" for e in ALL), key
