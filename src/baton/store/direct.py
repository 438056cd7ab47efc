"""Running the hottest statements straight on the driver's cursor.

SQLAlchemy Core's execution machinery (execution context, parameter processing per
call, result wrapping) costs several times more than SQLite takes to run a small
statement, and every task transition runs a handful of them. ``DirectStatement``
compiles a Core statement once per dialect and runs it on the DBAPI cursor of the same
connection, inside the same transaction, with the same bind and result processing the
Core path would apply: the SQL is still written once, as Core, for both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool
    binds: dict[str, Processor]
    defaults: dict[str, Any]
    results: tuple[Processor, ...]


class DirectStatement:
    """A Core statement compiled once per dialect and run on the DBAPI cursor.

    Supports plain bound parameters (not expanding ``IN`` lists). Rows come back as
    tuples in the statement's column order, already converted as Core would convert
    them (aware datetimes, parsed JSON).
    """

    def __init__(self, statement: ClauseElement, *, columns: Sequence[str] = ()) -> None:
        """Wrap ``statement``; for a bare ``table.insert()``, ``columns`` names those set."""
        self._statement = statement
        self._columns = list(columns)
        self._compiled: dict[type[Dialect], _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(type(dialect))
        if found is None:
            found = self._compiled[type(dialect)] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled: Any = self._statement.compile(dialect=dialect, column_keys=self._columns or None)
        binds: dict[str, Processor] = {}
        defaults: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            if bind.expanding:
                raise ValueError(f"{name}: expanding parameters are not supported here")
            binds[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if not bind.required:
                defaults[name] = bind.effective_value
        columns = getattr(self._statement, "exported_columns", ())
        results = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        )
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup) if positional else tuple(binds)
        return _Compiled(compiled.string, names, positional, binds, defaults, results)

    @staticmethod
    def _parameters(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = []
        for name in compiled.names:
            value = params[name] if name in params else compiled.defaults[name]
            process = compiled.binds[name]
            values.append(process(value) if process is not None else value)
        return (
            tuple(values) if compiled.positional else dict(zip(compiled.names, values, strict=True))
        )

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run once with ``params``; the rows it returns (empty for a plain write)."""
        compiled = self._for(conn.dialect)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, self._parameters(compiled, params))
            if cursor.description is None:
                return []
            return [self._row(compiled, row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per parameter set, in one driver call (a multi-row write)."""
        if not rows:
            return
        compiled = self._for(conn.dialect)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(compiled.sql, [self._parameters(compiled, r) for r in rows])
        finally:
            cursor.close()

    @staticmethod
    def _row(compiled: _Compiled, row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            process(value) if process is not None else value
            for process, value in zip(compiled.results, row, strict=True)
        )
