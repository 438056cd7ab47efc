"""Hostile MCP tool schemas: no regex backtracking, no unsupported patterns, capped size."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.tools.test_mcp import TENANT, World, stdio

ROOT = Path(__file__).resolve().parents[3]

# Runs in a child process: Python's re holds the GIL while it backtracks, so a thread
# could not be abandoned, and without RE2 this call would never come back.
EVIL_CALL = """
import asyncio, json
from tests.integration.tools.test_mcp import World, stdio

async def main():
    w = World([stdio("schemas", "mcp_schema_server.py")], start_timeout_s=20)
    try:
        evil = await w.call("mcp.schemas.evil", {"text": "a" * 40 + "!"})
        fine = await w.call("mcp.schemas.evil", {"text": "aaaa"})
    finally:
        await w.manager.aclose()
    print(json.dumps([evil.error, fine.success, fine.data]))

asyncio.run(main())
"""


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = World([stdio("schemas", "mcp_schema_server.py")], start_timeout_s=20)
    yield w
    await w.manager.aclose()


async def test_unsupported_deep_and_huge_schemas_leave_their_tools_out(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="baton.tools.mcp"):
        names = {t.name for t in await world.manager.tools(TENANT)}
    assert names == {"mcp.schemas.evil"}
    warnings = {r.getMessage() for r in caplog.records}
    assert any("'backref'" in w and "not supported" in w for w in warnings), warnings
    assert any("'lookahead'" in w and "not supported" in w for w in warnings), warnings
    assert any("'deep'" in w and "deeper than 32" in w for w in warnings), warnings
    assert any("'huge'" in w and "byte limit" in w for w in warnings), warnings
    refused = await world.call("mcp.schemas.backref", {"text": "aa"})
    assert refused.error is not None and refused.error.startswith("unknown_tool:")


def test_a_backtracking_pattern_is_matched_in_linear_time() -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", EVIL_CALL],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("validating '^(a+)+$' against 'a' * 40 + '!' did not finish")
    assert done.returncode == 0, done.stderr
    evil_error, fine_success, fine_data = json.loads(done.stdout.strip().splitlines()[-1])
    assert evil_error.startswith("invalid_arguments:")
    assert "does not match '^(a+)+$'" in evil_error
    assert fine_success is True
    assert fine_data == {"result": "aaaa"}
