"""A throwaway PostgreSQL server for the history tests: Debian's `postgresql` binaries, a cluster in a temporary
folder (readable by the `postgres` user, which initdb and the server require when the tests run as root), listening
on a free loopback port with password (scram-sha-256) authentication, stopped and removed at the end."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "farm"


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    password: str

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        return f"postgresql://{USER}:{password or self.password}@{self.host}:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on the server; its URL."""
        import sqlalchemy as sa

        name = f"h_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(
            self.url().replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        engine.dispose()
        return self.url(name)


def pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def pg_server(bindir: Path) -> Iterator[PgServer]:
    root = Path(tempfile.mkdtemp(prefix="pplite-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        as_postgres = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    root.chmod(0o700)
    password = secrets.token_hex(8)
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    if as_postgres:
        shutil.chown(pwfile, "postgres", "postgres")
    data, sock, log = root / "data", root / "sock", root / "server.log"
    sock.mkdir()
    if as_postgres:
        shutil.chown(sock, "postgres", "postgres")
    port = _free_port()

    def run(*argv: str) -> None:
        r = subprocess.run([*as_postgres, *argv], capture_output=True, text=True, timeout=120, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({r.returncode}): {r.stdout[-1500:]}{r.stderr[-1500:]}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "-A", "scram-sha-256",
            "--no-sync")  # fmt: skip
        options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start")
        yield PgServer("127.0.0.1", port, password)
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=60, check=False)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
