"""Runs ``airflow`` CLI commands one after another in one long-lived process (the e2e tests' runner).

``airflow dags test`` runs the DAG's tasks in the CLI's own process, so each new CLI process pays
again for importing Airflow, pandas, pyarrow and Great Expectations (about 8 CPU-seconds a run
here). This driver keeps one process and calls the CLI's own parser and command function for each
request, exactly as ``airflow <args>`` would: the same code path, the same metadata database, the
task code imported once.

Protocol (``python -m tests.airflow_driver``): one JSON object a line on stdin,
``{"args": [...], "env": {name: value or null}, "log": path}``; the command's stdout and stderr (the
file descriptors, so the task logs too) go to ``log``; the answer is one JSON line on stdout,
``{"returncode": n}``. ``env`` is applied for that command only.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def _run(args: list[str]) -> int:
    from airflow.cli.cli_parser import get_parser

    parsed = get_parser().parse_args(args)
    try:
        parsed.func(parsed)
    except SystemExit as stop:
        if stop.code is None or stop.code == 0:
            return 0
        if not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
            return 1
        return stop.code
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def _with_env(changes: dict[str, str | None]) -> dict[str, str | None]:
    """Apply ``changes`` to os.environ; return what undoes them."""
    undo = {name: os.environ.get(name) for name in changes}
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return undo


def main() -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    for line in sys.stdin:
        request = json.loads(line)
        undo = _with_env(request.get("env") or {})
        saved = os.dup(1), os.dup(2)
        with open(request["log"], "ab") as log:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                code = _run(request["args"])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
        _with_env(undo)
        answers.write(json.dumps({"returncode": code}) + "\n")


if __name__ == "__main__":
    main()
    # stdin closed: every answer is written and every log closed. Exit now rather than through the
    # interpreter's shutdown, which waited about 20 s after the e2e runs for what the commands left
    # running (threads, atexit handlers of Airflow and its providers).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
