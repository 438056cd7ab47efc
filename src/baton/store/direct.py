"""Running the hottest statements straight on the driver's cursor.

SQLAlchemy Core's execution machinery (execution context, parameter processing per
call, result wrapping) costs several times more than SQLite takes to run a small
statement, and every task transition runs a handful of them. ``DirectStatement``
compiles a Core statement once per dialect and runs it on the DBAPI cursor of the same
connection, inside the same transaction, with the same bind and result processing the
Core path would apply: the SQL is still written once, as Core, for both databases.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None
_NAMED = re.compile(r"%\(([^)]+)\)s")
_MISSING = object()
MAX_VARIANTS = 256


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where one placeholder's value comes from: ``params[key]`` (or its item ``index``)."""

    name: str
    key: str
    index: int | None
    process: Processor
    default: Any


@dataclass(slots=True)
class _Compiled:
    sql: str
    slots: tuple[_Slot, ...]
    positional: bool
    columns: list[Any]
    row: Callable[..., tuple[Any, ...]]
    results: tuple[Processor, ...] | None = None  # set at the first fetch: needs type codes


class DirectStatement:
    """A Core statement compiled once per dialect and run on the DBAPI cursor.

    Expanding ``IN`` parameters take a list; the statement is compiled once per list
    length met. Rows come back as named tuples in the statement's column order, already
    converted as Core would convert them (aware datetimes, parsed JSON).
    """

    def __init__(self, statement: ClauseElement, *, columns: Sequence[str] = ()) -> None:
        """Wrap ``statement``; for a bare ``table.insert()``, ``columns`` names those set."""
        self._statement: Any = statement
        self._columns = list(columns)
        self._plain: dict[type[Dialect], Any] = {}
        self._compiled: dict[tuple[type[Dialect], tuple[int, ...]], _Compiled] = {}

    def _for(self, dialect: Dialect, params: Mapping[str, Any] | None = None) -> _Compiled:
        plain = self._plain.get(type(dialect))
        if plain is None:
            plain = self._statement.compile(dialect=dialect, column_keys=self._columns or None)
            self._plain[type(dialect)] = plain
        expanding = sorted(n for n, b in plain.binds.items() if b.expanding)
        if expanding and params is None:
            raise ValueError("expanding parameters need one statement per call, not many")
        sizes = {n: len(params[n]) for n in expanding} if params is not None else {}
        key = (type(dialect), tuple(sizes.values()))
        found = self._compiled.get(key)
        if found is None:
            if len(self._compiled) >= MAX_VARIANTS:  # many list lengths seen: start over
                self._compiled.clear()
            found = self._compiled[key] = self._compile(dialect, plain, sizes)
        return found

    def _compile(self, dialect: Dialect, plain: Any, sizes: dict[str, int]) -> _Compiled:
        sql, positional = plain.string, bool(plain.positional)
        names = list(plain.positiontup) if positional else []
        if sizes:
            # Expanding needs a value for every parameter; the values are not kept (the
            # slots below read each call's own parameters).
            dummies = {n: [None] * sizes[n] if n in sizes else None for n in plain.binds}
            state = plain.construct_expanded_state(dummies)
            sql = state.statement
            names = list(state.positiontup) if positional else []
        if not positional:
            names = list(dict.fromkeys(_NAMED.findall(sql)))
        slots = tuple(self._slot(plain, dialect, name) for name in names)
        columns = list(getattr(self._statement, "exported_columns", ()))
        row = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
        return _Compiled(sql, slots, positional, columns, row)

    @staticmethod
    def _slot(plain: Any, dialect: Dialect, name: str) -> _Slot:
        bind, index = plain.binds.get(name), None
        if bind is None:  # an item of an expanded list, rendered "<name>_<n>"
            base, _, number = name.rpartition("_")
            bind, index = plain.binds[base], int(number) - 1
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        default = _MISSING if bind.required or index is not None else bind.effective_value
        return _Slot(name, bind.key, index, process, default)

    @staticmethod
    def _parameters(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = []
        for slot in compiled.slots:
            if slot.index is not None:
                value = params[slot.key][slot.index]
            elif slot.key in params:
                value = params[slot.key]
            elif slot.default is not _MISSING:
                value = slot.default
            else:
                raise KeyError(f"no value for the parameter {slot.key!r}")
            values.append(slot.process(value) if slot.process is not None else value)
        if compiled.positional:
            return tuple(values)
        return {slot.name: value for slot, value in zip(compiled.slots, values, strict=True)}

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Run once with ``params``; the rows it returns (empty for a plain write)."""
        compiled = self._for(conn.dialect, params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, self._parameters(compiled, params))
            if cursor.description is None:
                return []
            if compiled.results is None:
                compiled.results = tuple(
                    c.type.dialect_impl(conn.dialect).result_processor(conn.dialect, d[1])
                    for c, d in zip(compiled.columns, cursor.description, strict=True)
                )
            return [self._row(compiled, row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run once per parameter set, in one driver call; how many rows it changed."""
        if not rows:
            return 0
        compiled = self._for(conn.dialect)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(compiled.sql, [self._parameters(compiled, r) for r in rows])
            return int(cursor.rowcount)
        finally:
            cursor.close()

    @staticmethod
    def _row(compiled: _Compiled, row: Sequence[Any]) -> tuple[Any, ...]:
        assert compiled.results is not None
        return compiled.row(
            *(
                process(value) if process is not None else value
                for process, value in zip(compiled.results, row, strict=True)
            )
        )
