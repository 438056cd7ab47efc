"""`make bench`: run every benchmark and print one table.

`python -m bench [NAME ...]` runs only the named workloads.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import audit_append, baton_workloads, peers
from bench.report import Figure, print_table

WORKLOADS: dict[str, Callable[[], list[Figure]]] = {
    "audit": audit_append.run,
    "w1": baton_workloads.w1,
    "w2": baton_workloads.w2,
    "w3": baton_workloads.w3,
    "submit": baton_workloads.submit_latency,
    "w1-peers": peers.w1,
    "w2-peers": peers.w2,
    "w3-peers": peers.w3,
}


def main(names: list[str]) -> None:
    """Run the chosen workloads (all by default)."""
    chosen = names or list(WORKLOADS)
    unknown = [n for n in chosen if n not in WORKLOADS]
    if unknown:
        sys.exit(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    figures: list[Figure] = []
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr)
        try:
            done = WORKLOADS[name]()
        except Exception as exc:  # one void workload must not lose the others' figures
            done = [Figure(name, "-", "VOID", f"{type(exc).__name__}: {exc}"[:120])]
        for figure in done:
            print(
                f"  {figure.workload} | {figure.system} | {figure.value} | {figure.note}",
                file=sys.stderr,
            )
        figures += done
    print_table(figures)


if __name__ == "__main__":
    main(sys.argv[1:])
