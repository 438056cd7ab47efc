"""The procrastinate application of the procrastinate peer benchmark (W2)."""

from __future__ import annotations

import procrastinate

QUEUE = "bench"

# The connector is replaced by the benchmark's (app.replace_connector) once it has made
# its fresh database.
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=""))
answers: dict[int, int] = {}


@app.task(name="bench.add", queue=QUEUE)
async def add(i: int, a: int, b: int) -> int:
    answers[i] = a + b
    return a + b
