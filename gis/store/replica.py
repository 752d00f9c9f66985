"""A streaming read replica of the managed cluster (issue 28), for tests and the demo.

``wangge db replica start`` copies the running primary with ``pg_basebackup -R`` (which
writes ``standby.signal`` and the ``primary_conninfo``) into ``$WANGGE_HOME/replica/``, a
second data folder, and starts it on a port of its own; from then on PostgreSQL streams every
change of every database to it. It is read-only (hot standby); the API reads from it what may
be a little stale (``WANGGE_DATABASE_REPLICA_URLS``, see ``api/replicas.py``).

The managed primary already allows it: ``initdb`` keeps ``wal_level = replica`` and
``max_wal_senders = 10``, and its ``pg_hba.conf`` lets the superuser replicate over 127.0.0.1
with the same password auth (scram-sha-256).
"""

from __future__ import annotations

from pathlib import Path

from gis.errors import Unavailable
from gis.store.cluster import SUPERUSER, Cluster, Progress, _free_port, _quiet


class ReplicaCluster(Cluster):
    """A hot standby of ``primary``, kept in ``primary.home / "replica"``."""

    def __init__(self, primary: Cluster) -> None:
        super().__init__(primary.home / "replica", bindir=primary._bindir)
        self.primary = primary

    def start(self, progress: Progress = _quiet) -> str:
        """Copy the primary (first time), start the standby; return its URL. Idempotent."""
        primary_state = self.primary._state()
        if not self.primary.status().running:
            raise Unavailable(
                "the primary is not running: `wangge db start` first", field="database"
            )
        with self._lock():
            if not (self.data_dir / "PG_VERSION").exists():
                self._basebackup(primary_state, progress)
            if not self.status().running:
                self._remove_stale_pid(progress)
                self._start_server(progress)
        return self.url()

    def _basebackup(self, primary: dict[str, object], progress: Progress) -> None:
        self._place_server_files(progress)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self.log_file.touch()
        self._chown_to_owner(self.data_dir, self.log_file)
        progress(f"copying the primary (port {primary['port']}) into {self.data_dir}")
        password = str(primary["password"])
        passfile = self.data_dir.parent / ".pgpass"
        passfile.write_text(f"127.0.0.1:{primary['port']}:*:{SUPERUSER}:{password}\n")
        passfile.chmod(0o600)
        self._chown_to_owner(passfile)
        self._extra_env = {"PGPASSFILE": str(passfile)}
        try:
            self._run_as_owner(
                [
                    str(self.bindir / "pg_basebackup"),
                    "-h", "127.0.0.1",
                    "-p", str(primary["port"]),
                    "-U", SUPERUSER,
                    "-D", str(self.data_dir),
                    "-R",  # standby.signal + primary_conninfo (with the password)
                    "-X", "stream",
                    "-c", "fast",
                ]
            )  # fmt: skip
        finally:
            self._extra_env = {}
            passfile.unlink(missing_ok=True)
        # -R wrote primary_conninfo without the password (it came from a passfile that is gone)
        auto = self.data_dir / "postgresql.auto.conf"
        kept = [
            line
            for line in auto.read_text().splitlines()
            if not line.startswith("primary_conninfo")
        ]
        conninfo = (
            f"host=127.0.0.1 port={primary['port']} user={SUPERUSER} password={password} "
            "application_name=wangge_replica"
        )
        auto.write_text("\n".join([*kept, f"primary_conninfo = '{conninfo}'"]) + "\n")
        auto.chmod(0o600)
        self._chown_to_owner(auto)
        self._write_state({**self._state(), "port": _free_port(), "password": password})

    _extra_env: dict[str, str] = {}  # noqa: RUF012 - set around one call only

    def _env(self) -> dict[str, str]:
        return {**super()._env(), **self._extra_env}

    def lag_query(self) -> str:
        """SQL answering the standby's replay lag in seconds (0 when it has replayed all it
        received and is streaming)."""
        return REPLICA_LAG_SQL


#: Seconds the standby is behind: 0 while it streams and has replayed all it received, else
#: the age of the last transaction it replayed (NULL: not a standby).
REPLICA_LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
         AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0.0
    ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9)
END
"""


def replica_of(primary: Cluster) -> ReplicaCluster:
    return ReplicaCluster(primary)


def replica_home(primary_home: Path) -> Path:
    return primary_home / "replica"
