"""The main process's CPU by piece in one 2-worker import (issue 17, item 3).

```sh
git archive main | tar -x -C /tmp/before
(cd /tmp/before && /path/to/tree/.venv/bin/python /path/to/tree/bench/main_cpu.py 100000)
.venv/bin/python bench/main_cpu.py 100000 [sqlite|postgres]
```

Run from a tree's directory, it imports that tree's code (so the same file measures the code
before a change and after it, run in turn), imports ``events`` synthetic events with two
workers through ``bench.import_writer.import_into`` and prints, per event, the main
process's CPU (``time.process_time``) in all and in its pieces: scanning the lines, splitting
batches, sending them, receiving the answers, and writing (``insert_encoded`` where the tree
has it on SQLite, else ``write_rows``; ``copy_encoded`` on PostgreSQL), with the load average.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SPENT: dict[str, float] = {}


def cpu(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] = SPENT.get(name, 0.0) + time.process_time() - started

    return timed


def main() -> None:
    sys.path.insert(0, os.getcwd())  # the tree run from, not this file's
    import commands.bulk_workers as bw
    import commands.jsonlines as jl
    from bench import import_writer
    from bench.common import EVENTS_PER_COMPLAINT, drop, fresh_url
    from ledger.store import batch_writer

    events = int(sys.argv[1])
    backend = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
    name = "copy_encoded" if backend == "postgres" else "write_rows"
    if backend == "sqlite" and hasattr(batch_writer, "insert_encoded"):
        name = "insert_encoded"
    # import_into wraps these by the names it imported: wrap those too.
    setattr(import_writer, name, cpu("write", getattr(batch_writer, name)))
    bw.Deciders._answers = cpu("answers", bw.Deciders._answers)  # type: ignore[method-assign]
    bw.Deciders._send = cpu("send", bw.Deciders._send)  # type: ignore[method-assign]
    bw.Deciders.shares = cpu("shares", bw.Deciders.shares)  # type: ignore[method-assign]
    jl._scan = cpu("scan", jl._scan)
    with tempfile.TemporaryDirectory() as workdir:
        url = fresh_url(backend, "cpu", Path(workdir))
        try:
            complaints = max(1, round(events / EVENTS_PER_COMPLAINT))
            out = import_writer.import_into(url, complaints, batch_writer.write_events, 2)
        finally:
            drop(url)
    n = out["events"]
    figures = {k: round(v / n * 1e6, 1) for k, v in SPENT.items()}
    print(json.dumps({"tree": os.getcwd(), "backend": backend, "events": n,
                      "main_cpu": out["us_per_event"]["cpu"], **figures,
                      "load": os.getloadavg()}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
