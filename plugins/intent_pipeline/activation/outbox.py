"""The outbox: what a destination would send, written as files when it has no connection.

Each file is exactly one request body: ``<outbox>/<destination>/dt=YYYY-MM-DD/batch-0001.json``,
numbered on from the files already there, so a later run of the same interval
never overwrites an earlier one. A batch is noted in the ledger as under way before its file is
written (``Ledger.begin``), so a process killed between writing the file and recording it never writes
the batch again: the re-run finds the file and records it (``activation.settle_in_flight``).
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

BATCH_RE = re.compile(r"^batch-(\d+)\.json$")


class Outbox:
    """Writer of one destination's outbox folder for one interval."""

    def __init__(self, outbox_dir: Path | str, destination: str, interval_start: date):
        self.folder = Path(outbox_dir) / destination / f"dt={interval_start.isoformat()}"
        self.written: list[str] = []

    def _next_number(self) -> int:
        if not self.folder.exists():
            return 1
        numbers = [int(m.group(1)) for p in self.folder.iterdir() if (m := BATCH_RE.match(p.name))]
        return max(numbers, default=0) + 1

    def next_path(self) -> Path:
        """The file the next :meth:`write` writes (noted in the ledger before it is written)."""
        return self.folder / f"batch-{self._next_number():04d}.json"

    def write(self, body: dict, path: Path | None = None) -> Path:
        """Write one request body atomically (temp file, then rename: the file exists whole or not at
        all) to ``path`` (default :meth:`next_path`) and return its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = path or self.next_path()
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        self.written.append(str(path))
        return path
