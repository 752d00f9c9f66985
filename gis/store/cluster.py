"""The managed local PostgreSQL + PostGIS cluster wangge runs when no database is configured.

The cluster lives in ``$WANGGE_HOME`` (default ``./.wangge``): ``pgdata/`` (the data folder),
``postgres.log`` and ``cluster.json`` (port and generated password, readable by the owner only).
It listens on 127.0.0.1 only, on a free port chosen at first start (below the kernel's
ephemeral range, so it stays free while the cluster is stopped), with password
authentication. When invoked as root, the server runs as the unprivileged ``postgres`` system
user (or ``nobody``), because PostgreSQL refuses to run as root.

That user must be able to reach the data folder. A clone inside a private folder (``/root``,
a ``mktemp -d`` folder: mode 0700) is not reachable, so there the server's files go to
``/var/lib/wangge/<name>-<hash of the home path>/`` instead; ``cluster.json`` (still in the
home folder) records where, and ``wangge db destroy`` removes both.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gis.errors import Unavailable

SUPERUSER = "wangge"
DATABASE = "wangge"
SYSTEM_HOME = Path("/var/lib/wangge")
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """Progress sink that prints nothing."""


@dataclass(frozen=True)
class ClusterStatus:
    """What ``wangge db status`` reports."""

    initialised: bool
    running: bool
    pid: int | None
    port: int | None
    data_dir: Path


def find_bindir(configured: Path | None = None) -> Path:
    """The folder with ``initdb`` and ``pg_ctl``: configured, newest Debian install, or PATH."""
    if configured is not None:
        candidates = [configured]
    else:
        debian = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
            reverse=True,
        )
        on_path = shutil.which("initdb")
        candidates = [*debian, *([Path(on_path).resolve().parent] if on_path else [])]
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise Unavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them with "
        "`make setup` (or: sudo apt-get install postgresql-15 postgresql-15-postgis-3), "
        "or set WANGGE_DATABASE_URL to an existing PostGIS database.",
        field="database",
    )


#: the cluster's port is chosen below the kernel's ephemeral range, so no outgoing connection
#: can be handed it while the cluster is stopped (and the restart moved to another port)
PORT_RANGE_START = 20000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_port() -> int:
    """A free port for a new cluster: the first free one from a random start in
    ``PORT_RANGE_START`` up to the ephemeral range; the kernel's choice only if none is."""
    end = _ephemeral_start()
    if end - PORT_RANGE_START > 100:
        start = PORT_RANGE_START + secrets.randbelow(end - PORT_RANGE_START)
        candidates: list[int] = [*range(start, end), *range(PORT_RANGE_START, start)]
        for port in candidates:
            if _port_is_free(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now. Like PostgreSQL itself, the probe sets
    ``SO_REUSEADDR``: the connections a stopped server leaves in TIME_WAIT do not block its
    restart on the same port (without it, a restart right after a stop moved the cluster to a
    new port, away from the URL a running API still holds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _pid_is_postgres(pid: int) -> bool:
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return comm in {"postgres", "postmaster"}


class Cluster:
    """A PostgreSQL cluster in a folder, started and stopped with the installed binaries."""

    def __init__(self, home: Path, *, bindir: Path | None = None) -> None:
        self.home = home.expanduser().resolve()
        self._bindir = bindir
        self.state_file = self.home / "cluster.json"

    @property
    def data_dir(self) -> Path:
        """The PostgreSQL data folder: ``home/pgdata``, or where ``cluster.json`` says."""
        recorded = self._state().get("data_dir")
        return Path(str(recorded)) if recorded else self.home / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgres.log"

    # -- public ----------------------------------------------------------------------------

    def status(self) -> ClusterStatus:
        """Whether the cluster exists and runs, with its pid and port."""
        pid, port = self._postmaster()
        running = pid is not None and _pid_is_postgres(pid)
        return ClusterStatus(
            initialised=(self.data_dir / "PG_VERSION").exists(),
            running=running,
            pid=pid if running else None,
            port=port if running else _int_or_none(self._state().get("port")),
            data_dir=self.data_dir,
        )

    def start(self, progress: Progress = _quiet) -> str:
        """Initialise if needed, start if stopped, create the database; return its URL.

        Idempotent. A ``postmaster.pid`` left by a crashed server is removed before starting.
        """
        with self._lock():
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(progress)
            if not self.status().running:
                self._remove_stale_pid(progress)
                self._start_server(progress)
            url = self.url()
            self._ensure_database(progress)
        return url

    def stop(self, progress: Progress = _quiet) -> bool:
        """Stop the server (fast shutdown); False if it was not running."""
        with self._lock():
            if not self.status().running:
                return False
            progress(f"stopping PostgreSQL in {self.data_dir}")
            self._run_as_owner(
                [
                    str(self.bindir / "pg_ctl"),
                    "stop",
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "60",
                ]
            )
            return True

    def destroy(self, progress: Progress = _quiet) -> None:
        """Stop the server and delete its files (the home folder and any system folder)."""
        self.stop(progress)
        server_root = self.data_dir.parent
        with self._lock():
            if server_root != self.home:
                progress(f"removing {server_root}")
                shutil.rmtree(server_root, ignore_errors=True)
            progress(f"removing {self.home}")
        shutil.rmtree(self.home, ignore_errors=True)

    def url(self, database: str = DATABASE) -> str:
        """SQLAlchemy URL of ``database`` on this cluster (it must have been started once)."""
        state = self._state()
        if "port" not in state:
            raise Unavailable(
                "the managed cluster was never started; run `wangge db start`", field="database"
            )
        return (
            f"postgresql+psycopg://{SUPERUSER}:{state['password']}"
            f"@127.0.0.1:{state['port']}/{database}"
        )

    @property
    def bindir(self) -> Path:
        return find_bindir(self._bindir)

    # -- internals -------------------------------------------------------------------------

    def _state(self) -> dict[str, object]:
        try:
            data: dict[str, object] = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {}
        return data

    def _write_state(self, state: dict[str, object]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.chmod(0o600)
        tmp.replace(self.state_file)

    def _postmaster(self) -> tuple[int | None, int | None]:
        """pid and port from ``postmaster.pid`` (lines 1 and 4), if present."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None, None
        try:
            return int(lines[0]), int(lines[3])
        except (IndexError, ValueError):
            return None, None

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _owner(self) -> pwd.struct_passwd | None:
        """The unprivileged account that runs the server when we are root, else None."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
        raise Unavailable(
            "running as root and no unprivileged 'postgres' or 'nobody' user "
            "exists to run PostgreSQL",
            field="database",
        )

    def _run_as_owner(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        owner = self._owner()
        kwargs: dict[str, object] = {}
        if owner is not None:
            kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        result: subprocess.CompletedProcess[str] = subprocess.run(
            argv,
            cwd=self.data_dir.parent,
            capture_output=True,
            text=True,
            env=self._env(),
            **kwargs,  # type: ignore[call-overload]
        )
        if result.returncode != 0:
            log_tail = ""
            if self.log_file.exists():
                log_tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            raise Unavailable(
                f"{Path(argv[0]).name} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}\n{log_tail}".strip(),
                field="database",
            )
        return result

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        env["LANG"] = "C.UTF-8"
        return env

    def _chown_to_owner(self, *paths: Path) -> None:
        owner = self._owner()
        if owner is None:
            return
        for path in paths:
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def _reachable_by(self, owner: pwd.struct_passwd, folder: Path) -> bool:
        """Whether ``owner`` can enter ``folder`` (every parent must be searchable)."""
        probe = subprocess.run(
            ["/bin/sh", "-c", 'cd -- "$1"', "sh", str(folder)],
            capture_output=True,
            user=owner.pw_uid,
            group=owner.pw_gid,
            extra_groups=[],
            cwd="/",
        )
        return probe.returncode == 0

    def _place_server_files(self, progress: Progress) -> None:
        """Record a system folder for the server's files if its user cannot reach home."""
        owner = self._owner()
        if owner is None or self._reachable_by(owner, self.home):
            self._write_state({k: v for k, v in self._state().items() if k != "data_dir"})
            return
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        root = SYSTEM_HOME / f"{self.home.parent.name or 'wangge'}-{digest}"
        progress(
            f"user {owner.pw_name} cannot reach {self.home} (a private folder); "
            f"keeping the server's files in {root}"
        )
        SYSTEM_HOME.mkdir(mode=0o755, parents=True, exist_ok=True)
        if root.exists():  # left over by an earlier, unfinished initdb of this home
            shutil.rmtree(root)
        root.mkdir(mode=0o700)
        self._chown_to_owner(root)
        self._write_state({**self._state(), "data_dir": str(root / "pgdata")})

    def _initdb(self, progress: Progress) -> None:
        self._place_server_files(progress)
        progress(f"initialising a PostgreSQL cluster in {self.data_dir}")
        password = secrets.token_urlsafe(18)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        pwfile = self.data_dir.parent / ".pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self.log_file.touch()
        self._chown_to_owner(self.data_dir, pwfile, self.log_file)
        try:
            self._run_as_owner(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--pwfile",
                    str(pwfile),
                    "--auth",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# wangge managed cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "max_connections = 100\n"
                "shared_buffers = 256MB\n"
                "fsync = on\n"
                "logging_collector = off\n"
            )
        self._write_state({**self._state(), "port": _free_port(), "password": password})

    def _remove_stale_pid(self, progress: Progress) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        pid, _ = self._postmaster()
        if pid_file.exists() and (pid is None or not _pid_is_postgres(pid)):
            progress(f"removing stale {pid_file} (pid {pid} is not a running server)")
            pid_file.unlink()

    def _start_server(self, progress: Progress) -> None:
        state = self._state()
        port = int(str(state.get("port", 0))) or _free_port()
        if not _port_is_free(port):
            new_port = _free_port()
            progress(f"port {port} is taken; using {new_port}")
            port = new_port
        self._write_state({**state, "port": port})
        progress(f"starting PostgreSQL on 127.0.0.1:{port} (log: {self.log_file})")
        self._run_as_owner(
            [
                str(self.bindir / "pg_ctl"),
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port}",
            ]
        )

    def _ensure_database(self, progress: Progress) -> None:
        import psycopg

        state = self._state()
        dsn = dict(
            host="127.0.0.1",
            port=int(str(state["port"])),
            user=SUPERUSER,
            password=str(state["password"]),
            dbname="postgres",
            connect_timeout=10,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(**dsn, autocommit=True)  # type: ignore[arg-type]
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                progress(f"creating database {DATABASE}")
                conn.execute(f'CREATE DATABASE "{DATABASE}"')


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` next to the one at ``admin_url``; return its URL."""
    return _admin(admin_url, name, create=True)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` (terminating its connections) next to ``admin_url``."""
    _admin(admin_url, name, create=False)


def admin_connection(url: str) -> Any:
    """An autocommit psycopg connection to the ``postgres`` database of ``url``'s server."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(
        host=u.host,
        port=u.port,
        user=u.username,
        password=u.password,
        dbname="postgres",
        autocommit=True,
    )


def _admin(admin_url: str, name: str, *, create: bool) -> str:
    from psycopg import sql
    from sqlalchemy.engine import make_url

    with admin_connection(admin_url) as conn:
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)
