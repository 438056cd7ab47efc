"""Pure rules of the foundation: ids, roles, keys, ai_config, settings, cursors."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from baton.config import Settings
from baton.domain.errors import InvalidInput
from baton.domain.ids import new_id
from baton.domain.keys import display_prefix, generate_key, hash_key
from baton.domain.projects import AiMode, parse_ai_mode, validate_ai_config
from baton.domain.tenancy import Role
from baton.store.pagination import decode_cursor, encode_cursor


def test_ids_are_uuid7_and_time_ordered() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 7 for i in ids)
    millis = [int(i.replace("-", "")[:12], 16) for i in ids]
    assert millis == sorted(millis)


def test_role_order() -> None:
    assert Role.SUPERADMIN.includes(Role.ADMIN)
    assert Role.ADMIN.includes(Role.DEVELOPER)
    assert Role.DEVELOPER.includes(Role.VIEWER)
    assert not Role.VIEWER.includes(Role.DEVELOPER)
    assert not Role.ADMIN.includes(Role.SUPERADMIN)


def test_keys_are_random_and_hashed() -> None:
    a, b = generate_key(), generate_key()
    assert a != b and a.startswith("bk_")
    assert hash_key(a) != a and len(hash_key(a)) == 64
    assert hash_key(a) == hash_key(a)
    assert a.startswith(display_prefix(a)) and len(display_prefix(a)) < 12


def test_ai_mode_parsing() -> None:
    assert parse_ai_mode("orchestrator") is AiMode.ORCHESTRATOR
    with pytest.raises(InvalidInput, match="simple, orchestrator"):
        parse_ai_mode("auto")


def test_ai_config_accepts_known_fields_and_names_every_problem() -> None:
    good = {"agent_id": "a", "temperature": 1, "max_tokens": 10, "system_prompt": "s"}
    assert validate_ai_config(good) == good
    with pytest.raises(InvalidInput) as caught:
        validate_ai_config({"nope": 1, "temperature": -1})
    fields = {d["field"] for d in caught.value.details}
    assert fields == {"ai_config.nope", "ai_config.temperature"}


def test_settings_default_to_sqlite_in_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BATON_DATABASE_URL", "BATON_DATA_DIR", "BATON_PORT"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert s.effective_database_url.endswith(str(Path(".baton/baton.db").resolve()))
    assert (s.host, s.port, s.max_body_bytes) == ("127.0.0.1", 8000, 1024 * 1024)


def test_settings_read_the_baton_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_DATABASE_URL", "postgresql+psycopg://u@h/d")
    monkeypatch.setenv("BATON_PORT", "9001")
    monkeypatch.setenv("BATON_LOG_LEVEL", "debug")
    monkeypatch.setenv("BATON_ADMIN_KEY", "k" * 20)
    s = Settings()
    assert not s.is_sqlite
    assert s.port == 9001 and s.log_level == "DEBUG"
    assert s.admin_key is not None and "k" * 20 not in repr(s)  # secrets never printed


def test_cursor_round_trip_and_forgery() -> None:
    assert decode_cursor(encode_cursor("abc-123")) == "abc-123"
    assert decode_cursor(None) is None
    with pytest.raises(InvalidInput):
        decode_cursor("%%%")
