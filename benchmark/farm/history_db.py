"""Where the farm history lives: a database URL (SQLAlchemy Core), SQLite by default, PostgreSQL for a team. This
module is the one seam to the database: the schema (versioned in `schema_meta`), opening with clear errors, and the
migration of a schema-1 SQLite history (the toolkit's first, hand-written format) in place, after a backup copy.

HISTORY / --history / the farm file's `history` take:
- a file path, or `sqlite:///PATH`: SQLite (the default, build/history.sqlite), one host;
- `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB`: a PostgreSQL server several hosts write to (driver psycopg 3).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from converter.base.errors import ToolkitError

SCHEMA_VERSION = 2  # 1: the sqlite3 tables of toolkit <= issue 20 (no schema_meta, runs ordered by rowid)
APP = "pp-lite-toolkit farm history"
CONNECT_TIMEOUT_S = 10
CREATE_ATTEMPTS = 5
SQLITE_BUSY_TIMEOUT_S = 60
READ_ONLY = "history_read_only"  # execution option of a connection that only reads (SQLite: a deferred BEGIN)

meta = sa.MetaData()
schema_meta = sa.Table(
    "schema_meta", meta, sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text, nullable=False)
)
runs = sa.Table(
    "runs",
    meta,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),  # insertion order, any back end
    sa.Column("run_id", sa.String(200), nullable=False, unique=True),
    sa.Column("started_at", sa.Text, nullable=False),
    sa.Column("finished_at", sa.Text),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("host", sa.Text),
    sa.Column("pid", sa.Integer),
    sa.Column("farm_file", sa.Text),
    sa.Column("toolkit_version", sa.Text),
    sa.Column("payload_json", sa.Text, nullable=False, server_default="{}"),
)
records = sa.Table(
    "records",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(200), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("device_key", sa.Text, nullable=False),
    sa.Column("serialno", sa.Text),
    sa.Column("device_model", sa.Text),
    sa.Column("soc", sa.Text),
    sa.Column("adb_serial", sa.Text),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("precision", sa.Text, nullable=False),
    sa.Column("input_shape", sa.Text, nullable=False),
    sa.Column("runner_version", sa.Text),
    sa.Column("toolkit_version", sa.Text),
    sa.Column("nb_sha256", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("median_ms", sa.Float),
    sa.Column("cv", sa.Float),
    sa.Column("parity_passed", sa.Integer),
    sa.Column("finished_at", sa.Text),
    sa.Column("record_json", sa.Text, nullable=False),
)
run_records = sa.Table(
    "run_records",
    meta,
    sa.Column("run_id", sa.String(200), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("reused", sa.Integer, nullable=False, server_default="0"),
)
sa.Index("records_key", records.c.device_key, records.c.model, records.c.precision, records.c.toolkit_version,
         records.c.nb_sha256, records.c.status)  # fmt: skip
V1_TABLES = {"runs", "records", "run_records"}


class HistoryError(ToolkitError):
    """The history database cannot be opened or does not hold what was asked for."""


@dataclass(frozen=True)
class Location:
    url: str  # the SQLAlchemy URL
    label: str  # what messages show (password hidden)
    sqlite_path: Path | None = None


def locate(value: str | Path) -> Location:
    """A file path or a URL -> where the history is; HistoryError for a URL of another kind."""
    text = str(value)
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        return Location(f"sqlite:///{path}", str(path), path)
    try:
        url = make_url(text)
    except ArgumentError:
        raise HistoryError(f"history {text!r} is neither a file path nor a database URL") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise HistoryError(f"history {text!r}: an SQLite history needs a file (sqlite:///PATH)")
        path = Path(url.database).expanduser().resolve()
        return Location(f"sqlite:///{path}", str(path), path)
    if backend == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
        return Location(url.render_as_string(hide_password=False), url.render_as_string(hide_password=True))
    raise HistoryError(
        f"history {text!r}: {backend} is not supported; use a file path, sqlite:///PATH or postgresql://"
    )


def _sqlite_begin_immediate(engine: Engine) -> None:
    """SQLite: a write transaction takes the write lock at BEGIN (several farm runs write at once); a read-only one
    (execution option READ_ONLY) begins deferred and reads a snapshot of the WAL journal, so it neither waits for a
    writer nor holds one up."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below open the transaction
        dbapi_conn.execute("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def _one_line(e: BaseException) -> str:
    text = str(getattr(e, "orig", None) or e).strip().splitlines()
    return text[0] if text else type(e).__name__


def connect(loc: Location, *, create: bool) -> Engine:
    """An engine on a reachable history of this toolkit's schema (created or migrated when `create`); HistoryError
    in one line otherwise, with nothing written."""
    if loc.sqlite_path is not None:
        if not create and not loc.sqlite_path.is_file():
            raise HistoryError(
                f"history database {loc.label} does not exist; run `make bench-farm` (or pass --history PATH)"
            )
        try:
            loc.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise HistoryError(f"history database {loc.label} cannot be created: {e}") from None
        engine = sa.create_engine(loc.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        _sqlite_begin_immediate(engine)
    else:
        try:
            engine = sa.create_engine(loc.url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
        except (NoSuchModuleError, ImportError) as e:
            raise HistoryError(
                f"history {loc.label}: no database driver ({e}); pip install 'psycopg[binary]'"
            ) from None
    try:
        _check_schema(engine, loc, create=create)
    except SQLAlchemyError as e:
        engine.dispose()
        hint = "" if loc.sqlite_path is not None else " (check the server, user and password in HISTORY)"
        raise HistoryError(f"history {loc.label} cannot be opened: {_one_line(e)}{hint}") from None
    except HistoryError:
        engine.dispose()
        raise
    return engine


def _check_schema(engine: Engine, loc: Location, *, create: bool) -> None:
    """Accept this toolkit's schema, migrate schema 1, or create it; another controller creating it at the same
    moment makes this one's creation fail: then the schema it wrote is checked instead."""
    for attempt in range(CREATE_ATTEMPTS):
        with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            tables = set(sa.inspect(conn).get_table_names())
        if "schema_meta" in tables:
            _check_meta(engine, loc)
            return
        if tables & V1_TABLES:
            _v1_or_foreign(engine, loc, tables, create=create)
            return
        if not create:
            raise HistoryError(f"history {loc.label} holds no farm history yet; run `make bench-farm` with it first")
        try:
            with engine.begin() as conn:
                meta.create_all(conn)
                conn.execute(schema_meta.insert(), _meta_rows())
            return
        except SQLAlchemyError:
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))  # another controller is creating it: look again


def _meta_rows() -> list[dict[str, str]]:
    return [{"key": "app", "value": APP}, {"key": "schema_version", "value": str(SCHEMA_VERSION)}]


def _check_meta(engine: Engine, loc: Location) -> None:
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        rows = conn.execute(sa.select(schema_meta.c.key, schema_meta.c.value))
        found: dict[str, str] = {str(k): str(v) for k, v in rows}
    if found.get("app") != APP:
        raise HistoryError(f"history {loc.label} holds another application's schema_meta; point HISTORY elsewhere")
    version = int(found.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"history {loc.label} has schema version {version}, newer than this toolkit's {SCHEMA_VERSION}: "
            "update the toolkit"
        )
    if version < SCHEMA_VERSION:
        raise HistoryError(f"history {loc.label} has schema version {version}, which this toolkit cannot migrate")


def _v1_or_foreign(engine: Engine, loc: Location, tables: set[str], *, create: bool) -> None:
    if tables >= V1_TABLES and loc.sqlite_path is not None and _looks_v1(engine):
        if not create:
            raise HistoryError(
                f"history {loc.label} has the schema-1 format; run any farm command that writes "
                "(make bench-farm) to migrate it (a backup copy is kept)"
            )
        _migrate_v1(engine, loc.sqlite_path)
        return
    raise HistoryError(
        f"history {loc.label} holds tables of another schema ({', '.join(sorted(tables & V1_TABLES))}) and no "
        "schema_meta: it is not a farm history; point HISTORY at an empty database or a history file"
    )


def _looks_v1(engine: Engine) -> bool:
    cols = {c["name"] for c in sa.inspect(engine).get_columns("runs")}
    return {"run_id", "started_at", "status", "payload_json"} <= cols and "seq" not in cols


def backup_path(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.name}.schema1-{stamp}.bak")


def _migrate_v1(engine: Engine, path: Path) -> None:
    """Schema 1 -> 2 in place, after copying the file aside: `runs` gains `seq` (the old rowid order), schema_meta
    is written. One transaction: a failure leaves the schema-1 file as it was."""
    engine.dispose()
    backup = backup_path(path)
    for suffix in ("", "-wal"):
        src = path.with_name(path.name + suffix)
        if src.is_file():
            shutil.copy2(src, backup.with_name(backup.name + suffix))
    v1 = sa.Table("runs", sa.MetaData(), autoload_with=engine)
    cols = [c.name for c in runs.columns if c.name != "seq"]
    runs_new = runs.to_metadata(sa.MetaData(), name="runs_v2")
    with engine.begin() as conn:
        runs_new.create(conn)
        order: sa.ColumnElement[Any] = sa.literal_column("rowid")  # schema 1 exists only as SQLite: its insertion order
        conn.execute(runs_new.insert().from_select(cols, sa.select(*[v1.c[c] for c in cols]).order_by(order)))
        v1.drop(conn)
        conn.exec_driver_sql("ALTER TABLE runs_v2 RENAME TO runs")  # standard SQL; Core has no rename
        meta.create_all(conn)  # schema_meta (the other tables exist with the same columns)
        conn.execute(
            schema_meta.insert(),
            [{"key": "app", "value": APP}, {"key": "schema_version", "value": str(SCHEMA_VERSION)}],
        )
