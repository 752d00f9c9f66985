"""API keys on real PostGIS: hashed at rest, verified, revoked everywhere within a poll,
scoped by area code; phone masking; the audit log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gis.access import Scope
from gis.access.roles import ANONYMOUS, Principal, mask_phone
from gis.errors import InvalidInput, NotFound
from gis.security.audit import read_audit, record
from gis.security.keys import (
    LAST_USED_EVERY,
    KeyVerifier,
    check_secret,
    create_key,
    hash_secret,
    list_keys,
    revoke_key,
)
from gis.store.db import make_engine
from gis.store.models import API_KEYS
from tests.fixtures import load_small_street


@pytest.fixture(scope="module")
def engine(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    eng = make_engine(new_database())
    load_small_street(eng, tmp_path_factory.mktemp("keys"))
    yield eng
    eng.dispose()


def test_secret_hash_is_salted_scrypt() -> None:
    first, second = hash_secret("s3cret-value"), hash_secret("s3cret-value")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert check_secret("s3cret-value", first) and check_secret("s3cret-value", second)
    assert not check_secret("s3cret-valuE", first)
    assert not check_secret("s3cret-value", "sha256$abc")


def test_create_verify_revoke(engine: Engine) -> None:
    with engine.begin() as conn:
        made = create_key(conn, role="field_worker", scope="G1", name="王芳")
    with engine.connect() as conn:
        stored = conn.execute(
            select(API_KEYS.c.secret_hash).where(API_KEYS.c.key_id == made.key_id)
        )
        assert made.key.split("_", 2)[2] not in stored.scalar_one()  # only the hash is stored
    verifier = KeyVerifier(engine, check_seconds=0.0)
    principal = verifier.verify(made.key)
    assert principal == Principal(made.key_id, "王芳", "field_worker", "G1")
    assert verifier.verify(made.key[:-1] + ("A" if made.key[-1] != "A" else "B")) is None
    assert verifier.verify("not-a-key") is None and verifier.verify("") is None
    with engine.connect() as conn:
        listed = {r["key_id"]: r for r in list_keys(conn)}
    assert listed[made.key_id]["last_used_at"] is not None
    assert "secret_hash" not in listed[made.key_id]
    with engine.begin() as conn:
        revoke_key(conn, made.key_id)
    assert verifier.verify(made.key) is None  # the cache follows the api_keys version
    with engine.begin() as conn, pytest.raises(InvalidInput, match="already revoked"):
        revoke_key(conn, made.key_id)
    with engine.begin() as conn, pytest.raises(NotFound):
        revoke_key(conn, "nosuchkey0")


def test_cached_answers_only_without_the_database(engine: Engine) -> None:
    """``cached`` (used in the event loop) answers a key this worker verified while keys were
    checked for changes within check_seconds and its last-used time is not due; else None,
    and the caller goes through verify/remembered, which may use the database."""
    with engine.begin() as conn:
        made = create_key(conn, role="official", name="cache test")
    verifier = KeyVerifier(engine, check_seconds=3600.0)
    assert verifier.cached(made.key) is None  # never verified here
    principal = verifier.verify(made.key)
    assert principal is not None and verifier.cached(made.key) == principal
    assert verifier.cached(made.key + "x") is None
    verifier._used_at[made.key_id] -= LAST_USED_EVERY.total_seconds()  # last-used write due
    assert verifier.cached(made.key) is None
    assert verifier.remembered(made.key) == principal  # writes it, so cached answers again
    assert verifier.cached(made.key) == principal
    with engine.begin() as conn:
        revoke_key(conn, made.key_id)
    verifier._checked_at -= 3600.0  # the revocation check is due: never from memory
    assert verifier.cached(made.key) is None
    assert verifier.remembered(made.key) is None and verifier.verify(made.key) is None
    assert verifier.cached(made.key) is None


@pytest.mark.parametrize(
    ("role", "scope", "field"), [("mayor", None, "role"), ("official", "NOPE", "scope")]
)
def test_create_refuses_bad_role_or_scope(
    engine: Engine, role: str, scope: str | None, field: str
) -> None:
    with engine.begin() as conn, pytest.raises(InvalidInput) as err:
        create_key(conn, role=role, scope=scope)
    assert err.value.field == field


def test_roles_and_scope() -> None:
    worker = Principal("k", "w", "field_worker", "G1")
    assert worker.can("incidents:update") and not worker.can("import")
    assert Scope.of(worker).holds_chain(["S", "G1", "M1"])
    assert not Scope.of(worker).holds_chain(["S", "G2", "M2"])
    integration = Principal("k", "i", "integration")
    # an integration key reads incidents, but its scope holds only those it submitted
    assert integration.can("incidents:create") and integration.can("incidents:read")
    assert Scope.of(integration).submitter == "k" and not integration.can("areas:read")
    assert ANONYMOUS.can("assign") and not ANONYMOUS.can("incidents:read")
    assert Principal("k", "a", "admin").sees_phones and not worker.sees_phones


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("021-62541234", "021****1234"), ("110", "*10"), ("", "")],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_audit_log(engine: Engine, tmp_path: Path) -> None:
    admin = Principal("abc", "ops", "admin")
    record(engine, admin, action="import", target="buildings", client="127.0.0.1")
    record(engine, admin, action="read-unmasked", target="incidents/7", client="127.0.0.1")
    with engine.connect() as conn:
        rows, total = read_audit(conn, key_id="abc")
    assert total == 2 and [r["action"] for r in rows] == ["read-unmasked", "import"]
    assert rows[0]["client"] == "127.0.0.1" and rows[0]["at"] is not None


def test_demo_keys_command_revokes_the_previous_run(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gis.cli import app

    monkeypatch.setenv("WANGGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))

    def run() -> dict[str, str]:
        with pytest.raises(SystemExit) as done:
            app(["demo", "keys"], standalone_mode=True)
        assert done.value.code == 0
        lines = capsys.readouterr().out.splitlines()
        return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines}

    first, second = run(), run()
    assert first["demo admin key"].startswith("wg_") and first != second
    assert second["sign in (browser)"].endswith("/signin?next=/maps/")
    assert second["  her grid on a phone"].endswith("/maps/grid/M1")
    verifier = KeyVerifier(engine, check_seconds=0)
    assert verifier.verify(first["demo admin key"]) is None  # revoked by the second run
    admin = verifier.verify(second["demo admin key"])
    worker = verifier.verify(second["field worker of M1"])
    assert admin is not None and admin.role == "admin"
    assert worker is not None and (worker.role, worker.scope) == ("field_worker", "M1")


def test_command_line_writes_are_audited(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key made on the command line is a write: the audit log names the OS user and host,
    and a failed command leaves no entry."""
    from gis.cli import app

    monkeypatch.setenv("WANGGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    with pytest.raises(SystemExit) as done:
        app(["keys", "create", "--role", "official", "--name", "审计"], standalone_mode=True)
    assert done.value.code == 0
    with pytest.raises(NotFound):  # `wangge` prints it on one line and exits with 2
        app(["keys", "revoke", "nosuchkey0"], standalone_mode=True)
    capsys.readouterr()
    with engine.connect() as conn:
        created, _ = read_audit(conn, action="keys.create")
        revoked, _ = read_audit(conn, action="keys.revoke")
    assert created[0]["target"] == "审计" and created[0]["role"] == "command_line"
    assert created[0]["client"].startswith("cli@") and created[0]["detail"]["role"] == "official"
    assert revoked == []
