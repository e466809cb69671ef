"""A fork server of dbt calls: dbt imported once, each call run in a child forked from it.

A dbt process spends about 2 CPU-seconds importing dbt and its adapters before it reads a single
argument (docs/benchmarks.md, "dbt's fixed and per-node cost"). The server
(``python -m intent_pipeline.dbt_fork serve --socket PATH``) imports dbt, dbt-duckdb and
dbt-postgres once and then, for each request on its Unix socket, forks a child that runs exactly what
the ``dbt`` executable would: the request's argv, environment and folder, stdout and stderr captured,
the exit code returned. The server itself never runs dbt, so none of dbt's global state (its flags,
the adapter factory, dbt-duckdb's class-level ``_ENV``, the event logger) exists before a fork:
every child starts from the state a fresh ``dbt`` process has after its imports (docs/dbt-fork.md).

Opt-in: :func:`run` uses the server only when ``INTENT_DBT_FORK_SOCKET`` names its socket (the test
session starts one per worker, tests/conftest.py); otherwise, and whenever the server is absent,
dies or refuses a call, it runs the ``dbt`` subprocess as before and logs why.

The protocol: one JSON object per connection each way. ``{"argv", "env", "cwd"}`` is answered
with ``{"returncode", "stdout", "stderr"}`` (base64 of the bytes) once the child has exited, or
with ``{"refused": reason}``; ``{"stats": true}`` with ``{"cpu_s", "children_cpu_s", "calls", "pid"}``:
the CPU-seconds of the server and of every child it reaped (``wait4``'s rusage; a call is answered only
after its child is reaped), for honest CPU profiles.

This module imports nothing of ``intent_pipeline`` at its top: the server's children must not hold
a copy of the package that a dbt Python model of another checkout would import instead of its own.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

# What a Python process reads of its environment when it starts or imports dbt, and so cannot be
# changed in a forked child: a request whose values differ from the server's is refused (run as a
# subprocess). PYTHONPATH is not among them: the child rebuilds sys.path from the request's
# (:func:`_child_sys_path`). TZ neither: the child calls time.tzset().
STARTUP_ENV_PREFIXES = ("PYTHON", "LC_")
STARTUP_ENV_NAMES = frozenset({"LANG", "LANGUAGE", "TERM", "DBT_PACKAGE_HUB_URL"})
# the adapters imported before any fork (an adapter not listed is imported by the child that needs it)
PRELOADED = ("dbt.cli.main", "dbt.adapters.duckdb", "dbt.adapters.postgres")
_MAX_REQUEST = 64 * 1024 * 1024


class Unavailable(Exception):
    """The server cannot run this call (absent, dead, refusing it): run the subprocess instead."""


# ---------------------------------------------------------------------------------------- client


def passed_on(env: Mapping[str, str]) -> dict[str, str]:
    """What of ``env`` a process that runs dbt calls for its caller must keep (``INTENT_DBT_FORK_SOCKET``,
    when set), for the helpers that otherwise give their Airflow processes no ``INTENT_*`` variable."""
    return {name: env[name] for name in ("INTENT_DBT_FORK_SOCKET",) if env.get(name)}


def without_settings(env: Mapping[str, str], prefixes: tuple[str, ...] = ("INTENT_",)) -> dict[str, str]:
    """``env`` less the caller's settings (every variable starting with one of ``prefixes``) but what
    :func:`passed_on` keeps: for a helper that gives its processes, or itself, none of its caller's
    settings, yet whose dbt calls fork from the test session's server as every other call does."""
    return {k: v for k, v in env.items() if not k.startswith(prefixes)} | passed_on(env)


def socket_path() -> Path | None:
    """The server's socket from ``INTENT_DBT_FORK_SOCKET`` (Settings.dbt_fork_socket), or None (off)."""
    from intent_pipeline.settings import Settings

    return Settings.from_env().dbt_fork_socket


def run(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """The dbt call ``command`` in the environment ``env`` and the folder ``cwd``, as
    ``subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd)`` returns it:
    through the fork server when one is configured and answers, as that subprocess otherwise."""
    path = socket_path()
    if path is not None:
        try:
            return _via_server(path, list(command), dict(env), cwd)
        except Unavailable as reason:
            log.warning("dbt fork server at %s not used (%s): running dbt as a subprocess", path, reason)
    return subprocess.run(list(command), env=dict(env), capture_output=True, text=True, cwd=cwd)


def _exchange(path: Path, request: dict) -> dict:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(path))
            conn.sendall(json.dumps(request).encode())
            conn.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := conn.recv(1 << 20):
                chunks.append(chunk)
    except OSError as error:
        raise Unavailable(f"{type(error).__name__}: {error}") from error
    try:
        answer = json.loads(b"".join(chunks))
    except ValueError as error:
        raise Unavailable("the server closed the connection without an answer (did it die?)") from error
    if "refused" in answer:
        raise Unavailable(f"refused: {answer['refused']}")
    return answer


def _via_server(path: Path, command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    answer = _exchange(path, {"argv": command, "env": env, "cwd": str(Path(cwd).absolute())})
    return subprocess.CompletedProcess(
        command, answer["returncode"], _as_text(answer["stdout"]), _as_text(answer["stderr"])
    )


def _as_text(encoded: str) -> str:
    """The captured bytes as ``subprocess.run(..., text=True)`` decodes them (the locale's
    encoding, universal newlines)."""
    import io

    return io.TextIOWrapper(io.BytesIO(base64.b64decode(encoded))).read()


def stats(path: Path) -> dict:
    """The server's ``{"cpu_s", "children_cpu_s", "calls", "pid"}`` (:class:`Unavailable` when it does not answer)."""
    return _exchange(path, {"stats": True})


def forked_cpu_s() -> float:
    """The CPU-seconds of every child the configured server has reaped so far (its calls' dbt CPU,
    which this process's ``RUSAGE_CHILDREN`` does not see), 0.0 without a server or when it does not
    answer: a difference of two readings around a call adds that call's forked CPU to a figure."""
    path = socket_path()
    if path is None:
        return 0.0
    try:
        return float(stats(path)["children_cpu_s"])
    except Unavailable:
        return 0.0


def start(path: Path, env: Mapping[str, str], log_file: Path) -> subprocess.Popen:
    """Start a server on ``path`` with the environment ``env`` (dbt's: pipeline.dbt_process_env, so
    that the startup variables match its calls'); it dies with its starter. Returns once the socket
    listens (a call made before dbt's import is done waits for it). Raises :class:`Unavailable` when
    the server does not come up."""
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with open(log_file, "ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "intent_pipeline.dbt_fork", "serve", "--socket", str(path)],
                                  env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=out)  # fmt: skip
    deadline = time.monotonic() + 60  # a Python start on a machine with a load of 30
    while not path.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise Unavailable(f"the server did not start (exit code {server.poll()}, see {log_file})")
        time.sleep(0.02)
    return server


def stop(server: subprocess.Popen) -> None:
    """Stop a server :func:`start` started (SIGTERM: the calls under way finish first)."""
    server.terminate()
    try:
        server.wait(timeout=600)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# ---------------------------------------------------------------------------------------- server


def _die_with_parent(sig: int) -> None:
    """Linux: ``sig`` when the parent process dies (prctl PR_SET_PDEATHSIG), so that no orphan runs on."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _startup_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if (k.startswith(STARTUP_ENV_PREFIXES) or k in STARTUP_ENV_NAMES)
            and k != "PYTHONPATH"}  # fmt: skip


class Server:
    """The fork server (:func:`serve`); single-threaded: it accepts, forks and reaps, nothing else."""

    def __init__(self, path: Path):
        import signal

        self.path = path
        self.startup = _startup_env(os.environ)
        self.dbt = str(Path(sys.executable).with_name("dbt"))
        # the same file by any path: a venv reached through a symlink (a worktree's .venv) names it by the
        # link in this process and by the real folder in processes started by a script's shebang
        # (Airflow's components and their tasks)
        self.dbt_file = os.path.realpath(self.dbt)
        # sys.path less what this process's own start put first: a child starts from the rest
        own = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        self.base_path = [p for p in sys.path[1:] if p not in own]
        self.children: dict[int, tuple[socket.socket, int, int]] = {}  # pid -> (connection, stdout fd, stderr fd)
        self.reaped_cpu = 0.0
        self.calls = 0
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_w, False)
        signal.set_wakeup_fd(self.wakeup_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # the wakeup fd wakes select()
        signal.signal(signal.SIGTERM, self._stop)
        self.stopping = False
        path.unlink(missing_ok=True)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(64)

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def serve(self) -> None:
        import select

        try:
            while not self.stopping:
                try:
                    ready, _, _ = select.select([self.listener, self.wakeup_r], [], [])
                except InterruptedError:
                    continue
                if self.wakeup_r in ready:
                    os.read(self.wakeup_r, 4096)
                    self._reap(block=False)
                if self.listener in ready:
                    conn, _ = self.listener.accept()
                    self._handle(conn)
        finally:
            self.listener.close()
            self.path.unlink(missing_ok=True)
            while self.children:  # a call under way finishes: its client gets its answer
                self._reap(block=True)

    def _reap(self, block: bool) -> None:
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.reaped_cpu += usage.ru_utime + usage.ru_stime
            if pid in self.children:
                self._answer(pid, os.waitstatus_to_exitcode(status))
            if block:
                return

    def _answer(self, pid: int, returncode: int) -> None:
        conn, out, err = self.children.pop(pid)
        try:
            captured = [_read_all(fd) for fd in (out, err)]
            answer = {"returncode": returncode, "stdout": captured[0], "stderr": captured[1]}
            conn.sendall(json.dumps(answer).encode())
        except OSError as error:  # the client went away: nothing to tell
            print(f"dbt_fork: answer to a gone client lost: {error}", file=sys.stderr, flush=True)
        finally:
            os.close(out)
            os.close(err)
            conn.close()

    def _send(self, conn: socket.socket, answer: dict) -> None:
        try:
            conn.sendall(json.dumps(answer).encode())
        except OSError:
            pass
        conn.close()

    def _handle(self, conn: socket.socket) -> None:
        chunks, size = [], 0
        try:
            while chunk := conn.recv(1 << 20):
                chunks.append(chunk)
                size += len(chunk)
                if size > _MAX_REQUEST:
                    return self._send(conn, {"refused": "request too large"})
            request = json.loads(b"".join(chunks))
        except (OSError, ValueError) as error:
            return self._send(conn, {"refused": f"unreadable request: {error}"})
        if request.get("stats"):
            self._reap(block=False)
            import resource

            own = resource.getrusage(resource.RUSAGE_SELF)
            cpu = own.ru_utime + own.ru_stime + self.reaped_cpu
            return self._send(
                conn, {"cpu_s": cpu, "children_cpu_s": self.reaped_cpu, "calls": self.calls, "pid": os.getpid()}
            )
        reason = self._refusal(request)
        if reason:
            return self._send(conn, {"refused": reason})
        out, err = os.memfd_create("dbt-stdout"), os.memfd_create("dbt-stderr")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                conn.close()
                code = self._child(request, out, err)
            finally:
                os._exit(code)
        self.calls += 1
        self.children[pid] = (conn, out, err)

    def _refusal(self, request: dict) -> str:
        argv, env, cwd = request.get("argv"), request.get("env"), request.get("cwd")
        if not (isinstance(argv, list) and argv and isinstance(env, dict) and isinstance(cwd, str)):
            return "a request needs argv (a list), env (an object) and cwd (a string)"
        if not isinstance(argv[0], str) or os.path.realpath(argv[0]) != self.dbt_file:
            return f"argv[0] is {argv[0]!r}, this server runs {self.dbt!r}"
        if (startup := _startup_env(env)) != self.startup:
            names = sorted(k for k in startup.keys() | self.startup.keys() if startup.get(k) != self.startup.get(k))
            return f"startup variables differ from the server's: {', '.join(names)}"
        if not os.path.isdir(cwd):
            return f"no folder {cwd}"
        return ""

    def _child(self, request: dict, out: int, err: int) -> int:
        """In the forked child: become the ``dbt`` process the request describes, run it, return its code."""
        import importlib
        import signal
        import time
        import traceback
        import types

        _die_with_parent(signal.SIGKILL)
        if os.getppid() == 1:
            return 1
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        for fd in (self.listener.fileno(), self.wakeup_r, self.wakeup_w):
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        for fd in (devnull, out, err):
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        os.chdir(request["cwd"])
        sys.argv = list(request["argv"])
        sys.path[:] = _child_sys_path(sys.argv[0], request["env"].get("PYTHONPATH", ""), self.base_path)
        for name in [n for n in sys.modules if n == "intent_pipeline" or n.startswith("intent_pipeline.")]:
            del sys.modules[name]  # the server's copy: the child's PYTHONPATH says which one dbt's models get
        importlib.invalidate_caches()
        # the dbt script's __main__, not this server's: click names the program after it ("dbt", not "python -m ...")
        script = types.ModuleType("__main__")
        script.__file__ = sys.argv[0]
        sys.modules["__main__"] = script
        from dbt.cli.main import cli

        try:
            sys.argv[0] = sys.argv[0].removesuffix(".exe")  # as the dbt script does
            cli()
            code: object = 0
        except SystemExit as done:
            code = done.code
        except BaseException:  # as the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
        return _exit_code(code)


def _exit_code(code: object) -> int:
    """``sys.exit(code)``'s process exit code, flushing what the interpreter flushes at exit."""
    import atexit

    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()  # logging.shutdown among them: dbt's log file is flushed
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return code & 0xFF


def _child_sys_path(script: str, pythonpath: str, base: list[str]) -> list[str]:
    """``sys.path`` of a fresh interpreter running ``script``: its folder, then ``PYTHONPATH``, then the rest."""
    first = [os.path.dirname(os.path.realpath(script))]
    return [*first, *(p for p in pythonpath.split(os.pathsep) if p), *base]


def _read_all(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return base64.b64encode(b"".join(chunks)).decode()


# A server's mark in its socket's folder: its pid (one file per server, several may share a folder).
PID_FILE = "dbt_fork.{pid}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_folders(path: Path) -> list[Path]:
    """Mark ``path``'s folder as this server's (its pid file), and remove the folders beside it that
    only dead servers marked: what a server leaves behind when its starter is killed (a pytest
    killed mid-run never runs its clean-up). A folder without a mark (not a server's, or one whose
    server has not written it yet) or with a live server's mark is never touched; a reused pid
    keeps a folder (the safe side). Returns the folders removed."""
    import shutil

    own = path.parent
    (own / PID_FILE.format(pid=os.getpid())).write_text(f"{os.getpid()}\n")
    removed: list[Path] = []
    try:
        siblings = [folder for folder in own.parent.iterdir() if folder != own and folder.is_dir()]
    except OSError:
        return removed
    for folder in siblings:
        try:
            marks = [int(mark.read_text()) for mark in folder.glob(PID_FILE.format(pid="*"))]
        except (OSError, ValueError):
            continue
        if marks and not any(_alive(pid) for pid in marks):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def serve(path: Path) -> None:
    """Listen on ``path``, import dbt and its adapters, then answer requests until SIGTERM or the
    parent's death (a request that arrives during the imports waits in the socket's backlog). Before
    it listens: the stale folders of dead servers beside its own go (:func:`remove_stale_folders`)."""
    import importlib
    import signal

    _die_with_parent(signal.SIGTERM)
    for folder in remove_stale_folders(path):
        print(f"dbt_fork: removed {folder}, left by a dead server", file=sys.stderr, flush=True)
    server = Server(path)
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError as error:  # an adapter not installed: its children import nothing more
            print(f"dbt_fork: {name} not preloaded: {error}", file=sys.stderr, flush=True)
    print(f"dbt_fork: serving on {path}, pid {os.getpid()}", file=sys.stderr, flush=True)
    server.serve()


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m intent_pipeline.dbt_fork", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run a fork server on a Unix socket")
    serve_parser.add_argument("--socket", type=Path, required=True)
    args = parser.parse_args(argv)
    serve(args.socket)


if __name__ == "__main__":
    main()
