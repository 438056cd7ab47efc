"""Fresh PostgreSQL databases for benchmark runs."""

from __future__ import annotations


def fresh_postgres(url: str, name: str) -> str:
    """Drop and create database ``name`` on ``url``'s server; return its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return parsed.set(database=name).render_as_string(hide_password=False)
