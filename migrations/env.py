"""Alembic environment: reuses the caller's connection (Store.upgrade) or builds one from the URL."""

from __future__ import annotations

import logging.config
import os
from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext

from daemon.store.schema import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("connection") is None:
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """Pick the URL: `-x url=...`, then INQUIRY_TRIAGE_DB_URL, then sqlalchemy.url."""
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("INQUIRY_TRIAGE_DB_URL")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: pass `-x url=...` or set INQUIRY_TRIAGE_DB_URL")
    return url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render UTCDateTime as the plain column type so revisions don't import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(**kwargs: object) -> None:
    """Configure the migration context with the options shared by both modes."""
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        **kwargs,  # type: ignore[arg-type]
    )


def run_offline() -> None:
    """Emit the SQL to stdout without connecting."""
    url = database_url()
    configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: sa.Connection) -> None:
    """Run the migrations on an open connection."""
    configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the caller's connection, or on a new one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = sa.create_engine(database_url(), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        run_on(conn)
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
