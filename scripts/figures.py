"""The figures the README quotes, produced by one command (`make figures`), never typed by hand.

    python scripts/figures.py [--people 3000] [--date 2026-11-21] [--skip-run]   measure, write, render
    python scripts/figures.py render       README's marked blocks from docs/figures.json
    python scripts/figures.py check        exit 1 when README's marked blocks differ from docs/figures.json
    python scripts/figures.py record-tests ...   what scripts/test.sh calls at the end of a run

Needs the environment of scripts/env.sh. Measuring does:

* ``make_run``: `make run`'s own steps (scripts/airflow-init.sh, the sample generator, one run
  through Airflow's scheduler with scripts/airflow_run.py) in a temporary INTENT_HOME and
  AIRFLOW_HOME, so the user's data and Airflow home are never touched; the figures are the
  summary that run saved (``reports/runs/dt=<date>.json``) and its wall time.
* ``tests``: read from the file scripts/test.sh writes at the end of every run
  (data/reports/tests/last-run.json: wall time per step, test counts, CPU-seconds of all its
  processes); the suite is not run again. Without that file the previous figures stay.
* ``dbt_modes`` (with ``--dbt-modes``, several minutes): python bench/dbt_modes.py's last line.
* ``funnel_edge_cases``, ``mart_suites``: counted in the funnel's edge-case table and in
  expectations/marts/.

Every section keeps the date and the machine (cores, memory, Python) it was measured on. The
result goes to docs/figures.json, and the README's blocks between ``<!-- figures:NAME -->`` and
``<!-- /figures:NAME -->`` are rewritten from it (tests/test_figures.py fails on a hand edit).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures.json"
README = ROOT / "README.md"
TEST_RUN = ROOT / "data" / "reports" / "tests" / "last-run.json"
MART_SUITES = ROOT / "expectations" / "marts"
FUNNEL_EDGE_CASES = ROOT / "dbt_project" / "models" / "intermediate" / "funnel" / "_funnel__edge_cases.yml"
HOME_PLACEHOLDER = "/…"
BLOCK = re.compile(r"<!-- figures:(?P<name>[a-z0-9-]+) -->\n?(?P<body>.*?)<!-- /figures:(?P=name) -->", re.DOTALL)


# --- the machine -------------------------------------------------------------------------------


def machine() -> dict:
    """Where a figure was measured: cores, memory, Python, OS, and how busy the machine was."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    cpu_model = None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(errors="replace"), re.MULTILINE)
        cpu_model = found.group(1).strip() if found else None
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": cpu_model,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# --- make run ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return int(probe.getsockname()[1])


def _without_home(value: object, home: str) -> object:
    """Paths of the temporary home written as README shows them (``/…/data/...``)."""
    if isinstance(value, str):
        return value.replace(home, HOME_PLACEHOLDER)
    if isinstance(value, dict):
        return {k: _without_home(v, home) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_home(v, home) for v in value]
    return value


def measure_make_run(people: int, day: date, keep: bool = False) -> dict:
    """`make run`'s steps (without the venv set-up) in a temporary INTENT_HOME; its saved summary."""
    home = Path(tempfile.mkdtemp(prefix="intent-figures-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")}
    # the task execution API on a free port too: a `make airflow-ui` may hold the default 8091
    env |= {
        "INTENT_HOME": str(home),
        "AIRFLOW_HOME": str(home / ".airflow"),
        "INTENT_AIRFLOW_EXECUTION_PORT": str(_free_port()),
    }
    data = home / "data"

    def step(*args: str) -> str:
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        return done.stdout

    succeeded = False
    try:
        started, load_at_start = time.perf_counter(), round(os.getloadavg()[0], 2)
        step("bash", "scripts/airflow-init.sh")
        step(sys.executable, "-m", "intent_pipeline", "synth", "--people", str(people), "--date", day.isoformat(),
             "--landing", str(data / "landing"), "--truth", str(data / "ground_truth"))  # fmt: skip
        run_started = time.perf_counter()
        out = step(sys.executable, "scripts/airflow_run.py", "--from", day.isoformat(), "--port", str(_free_port()))
        run_seconds = time.perf_counter() - run_started
        runs = json.loads(out.strip().splitlines()[-1])["runs"]
        if set(runs.values()) != {"success"}:
            raise RuntimeError(f"the run did not succeed: {runs}; logs under {data / 'logs'}")
        saved = data / "reports" / "runs" / f"dt={day.isoformat()}.json"
        summary = json.loads(saved.read_text(encoding="utf-8"))
        succeeded = True
        return {
            "command": f"python scripts/figures.py --people {people} --date {day.isoformat()}",
            "measured_at": _now(),
            "machine": machine() | {"load_average_1m_at_start": load_at_start},
            "people": people,
            "interval_start": day.isoformat(),
            "run_seconds": round(run_seconds, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            "summary": _without_home(summary, str(home)),
        }
    finally:
        if keep or not succeeded:  # a failed run's logs stay for a look
            print(f"kept the temporary home {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)


# --- the test suite (scripts/test.sh) ----------------------------------------------------------


def _shell_times(text: str) -> float:
    """CPU-seconds of a shell's children from bash's ``times`` (second line: children user, sys)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValueError(f"not the output of bash's times: {text!r}")
    total = 0.0
    for part in lines[1].split():
        found = re.fullmatch(r"(\d+)m([\d.]+)s", part)
        if not found:
            raise ValueError(f"not the output of bash's times: {text!r}")
        total += int(found.group(1)) * 60 + float(found.group(2))
    return total


def junit_counts(path: Path) -> dict:
    """Test counts of a pytest JUnit XML report (its testsuite elements summed)."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def record_tests(args: argparse.Namespace) -> int:
    """The figures file scripts/test.sh writes at the end of a run (its exit code is not changed)."""
    marks = [float(m) for m in (args.started, args.setup_done, args.lint_done, args.tests_done)]
    record = {
        "command": "make test",
        "measured_at": _now(),
        "machine": machine(),
        "exit_code": args.exit_code,
        "pytest_args": args.pytest_args,
        "workers": args.workers,
        "wall_seconds": round(marks[3] - marks[0], 1),
        "setup_seconds": round(marks[1] - marks[0], 1),
        "lint_seconds": round(marks[2] - marks[1], 1),
        "pytest_seconds": round(marks[3] - marks[2], 1),
        "cpu_seconds": round(_shell_times(Path(args.times).read_text()), 1),
        **junit_counts(Path(args.junit)),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"test figures: {out}")
    return 0


# --- static counts -----------------------------------------------------------------------------


def count_mart_suites(folder: Path = MART_SUITES) -> dict:
    """The GX suites validate_marts runs: one JSON file per mart."""
    return {"command": "python scripts/figures.py", "measured_at": _now(),
            "suites": len(list(folder.glob("*.json"))), "folder": str(folder.relative_to(ROOT))}  # fmt: skip


def measure_dbt_modes(people: int) -> dict:
    """python bench/dbt_modes.py: one dbt build against one dbt process per seed and model."""
    command = [sys.executable, str(ROOT / "bench" / "dbt_modes.py"), "--people", str(people)]
    load_at_start = round(os.getloadavg()[0], 2)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"bench/dbt_modes.py failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "command": f"python bench/dbt_modes.py --people {people}",
        "measured_at": _now(),
        "machine": machine() | {"load_average_1m_at_start": load_at_start},
    } | result


def count_funnel_edge_cases(path: Path = FUNNEL_EDGE_CASES) -> dict:
    import yaml

    cases = yaml.safe_load(path.read_text(encoding="utf-8")).get("unit_tests") or []
    return {"command": "python scripts/figures.py", "measured_at": _now(), "unit_tests": len(cases),
            "file": str(path.relative_to(ROOT))}  # fmt: skip


# --- rendering ---------------------------------------------------------------------------------


def _day(measured_at: str) -> str:
    moment = datetime.fromisoformat(measured_at)
    return f"{moment.day} {moment:%B %Y}"


def _machine_text(m: dict) -> str:
    parts = [f"{m['cores']} cores"]
    if m.get("memory_gib"):
        parts.append(f"{m['memory_gib']:g} GiB")
    if m.get("python"):
        parts.append(f"Python {m['python']}")
    if m.get("load_average_1m_at_start") is not None:
        parts.append(
            f"load average {m['load_average_1m_at_start']:g} at the start, {m['load_average_1m']:g} at the end"
        )
    elif m.get("load_average_1m") is not None:
        parts.append(f"load average {m['load_average_1m']:g}")
    return ", ".join(parts)


def _short(value: object) -> object:
    """A model metric as README shows it: its first three decimals, and an ellipsis when more follow
    (cut, not rounded: 0.7178 is 0.717…)."""
    if isinstance(value, float):
        whole, _, decimals = f"{value:.12f}".rstrip("0").partition(".")
        return f"{value:.3f}" if len(decimals) <= 3 else f"{whole}.{decimals[:3]}…"
    return value


def render_make_run(section: dict) -> str:
    sys.path.insert(0, str(ROOT / "plugins"))
    from intent_pipeline.report import format_summary

    summary = json.loads(json.dumps(section["summary"]))
    latest = (summary.get("conversion_model") or {}).get("latest") or {}
    if latest.get("metrics"):
        latest["metrics"] = {k: _short(v) for k, v in latest["metrics"].items()}
    lines = format_summary(summary).splitlines()[2:]  # without the title line: the text above names the interval
    return (
        "```\n" + "\n".join(lines) + "\n```\n\n"
        f"Measured by `make figures` ({section['people']:,} people, interval {section['interval_start']}; "
        f"`make run`'s steps in a temporary `INTENT_HOME`) on {_day(section['measured_at'])} "
        f"({_machine_text(section['machine'])}): the pipeline step (Airflow started, one run, stopped) took "
        f"{section['run_seconds']:.0f} s.\n"
    )


def render_tests(section: dict) -> str:
    workers = section.get("workers")
    how = "in one process" if workers in (None, "0", 0) else f"pytest-xdist `-n {workers}`"
    note = f" {section['note']}" if section.get("note") else ""
    failed = section.get("failures", 0) + section.get("errors", 0)
    outcome = f"{section['passed']:,} passed" + (f", {failed} failed" if failed else "")
    if section.get("skipped"):
        outcome += f", {section['skipped']} skipped"
    return (
        f"Measured by `{section['command']}` on {_day(section['measured_at'])} "
        f"({_machine_text(section['machine'])}): **{section['wall_seconds']:.0f} s wall** — "
        f"venv {section['setup_seconds']:.0f} s, ruff and mypy {section['lint_seconds']:.0f} s, "
        f"**{section['tests']:,} tests in {section['pytest_seconds']:.0f} s** ({outcome}; {how}); "
        f"{section['cpu_seconds']:.0f} CPU-seconds in all.{note}\n"
    )


def render_funnel_edge_cases(section: dict) -> str:
    return str(section["unit_tests"])


def render_mart_suites(section: dict) -> str:
    return str(section["suites"])


def render_dbt_modes(section: dict) -> str:
    when = (
        f"{_day(section['measured_at'])}, {_machine_text(section['machine'])}"
        if section.get("measured_at")
        else "date and machine not recorded"
    )
    return (
        f"{section['single_build_seconds']:.1f} s against {section['per_node_seconds']:.1f} s per node, "
        f"{section['ratio_per_node_to_single']:g}× ({section['people']:,} people, {section['nodes']} seeds and "
        f"models; {when})"
    )


RENDERERS = {
    "make-run": ("make_run", render_make_run),
    "tests": ("tests", render_tests),
    "funnel-edge-cases": ("funnel_edge_cases", render_funnel_edge_cases),
    "mart-suites": ("mart_suites", render_mart_suites),
    "dbt-modes": ("dbt_modes", render_dbt_modes),
}


def render(figures: dict) -> dict[str, str]:
    """Each marked block's text, from the figures (keys as in docs/figures.json)."""
    return {name: renderer(figures[key]) for name, (key, renderer) in RENDERERS.items() if key in figures}


def blocks(text: str) -> dict[str, str]:
    """The marked blocks of a document: name → the text between its markers."""
    found: dict[str, str] = {}
    for match in BLOCK.finditer(text):
        if match["name"] in found:
            raise ValueError(f"the block figures:{match['name']} is marked twice")
        found[match["name"]] = match["body"]
    return found


def _opening(name: str, inline: bool) -> str:
    return f"<!-- figures:{name} -->" + ("" if inline else "\n")


def apply(text: str, rendered: dict[str, str]) -> str:
    """``text`` with every marked block replaced by its rendering; a block with no rendering or a
    rendering with no block is an error (a figure the README quotes must come from the script)."""
    present = blocks(text)
    missing = sorted(set(rendered) - set(present))
    unknown = sorted(set(present) - set(rendered))
    if missing or unknown:
        raise ValueError(f"README blocks without markers: {missing}; markers without figures: {unknown}")

    def replace(match: re.Match) -> str:
        name = match["name"]
        inline = not match.group(0).startswith(f"<!-- figures:{name} -->\n")
        return f"{_opening(name, inline)}{rendered[name]}<!-- /figures:{name} -->"

    return BLOCK.sub(replace, text)


def stale_blocks(text: str, figures: dict) -> list[str]:
    """Names of the blocks whose text differs from what ``figures`` renders."""
    rendered, present = render(figures), blocks(text)
    return sorted(n for n in set(rendered) | set(present) if rendered.get(n) != present.get(n))


# --- the command -------------------------------------------------------------------------------


def load(path: Path | None = None) -> dict:
    path = path or FIGURES
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def save(figures: dict, path: Path | None = None) -> None:
    (path or FIGURES).write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def measure(args: argparse.Namespace) -> int:
    figures = load()
    if not args.skip_run:
        print(f"make run's steps on {args.people} people in a temporary home...", file=sys.stderr)
        figures["make_run"] = measure_make_run(args.people, args.date, keep=args.keep)
    test_run = Path(args.test_run)
    if test_run.exists():
        latest = json.loads(test_run.read_text(encoding="utf-8"))
        if latest.get("exit_code") != 0:
            print(
                f"{test_run}: that run failed (exit {latest.get('exit_code')}); the suite's figures stay",
                file=sys.stderr,
            )
        elif latest.get("pytest_args"):
            print(
                f"{test_run}: a part of the suite ({latest['pytest_args']}), not the whole; the suite's figures stay",
                file=sys.stderr,
            )
        else:
            figures["tests"] = latest
    else:
        print(f"no {test_run} (scripts/test.sh writes it): the suite's figures stay as they were", file=sys.stderr)
    if args.dbt_modes:
        print(f"python bench/dbt_modes.py --people {args.dbt_modes_people}...", file=sys.stderr)
        figures["dbt_modes"] = measure_dbt_modes(args.dbt_modes_people)
    figures["funnel_edge_cases"] = count_funnel_edge_cases()
    figures["mart_suites"] = count_mart_suites()
    figures["generated_at"] = _now()
    figures["machine"] = machine()
    save(figures)
    README.write_text(apply(README.read_text(encoding="utf-8"), render(figures)), encoding="utf-8")
    print(json.dumps({k: figures[k] for k in ("generated_at", "machine")} | {"written": [str(FIGURES), str(README)]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=3000, help="size of make run's sample (make run's default)")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 21), help="interval start")
    parser.add_argument("--skip-run", action="store_true", help="keep make run's figures, re-read the rest")
    parser.add_argument("--keep", action="store_true", help="keep the temporary INTENT_HOME (for a look)")
    parser.add_argument("--dbt-modes", action="store_true", help="also run bench/dbt_modes.py (several minutes)")
    parser.add_argument("--dbt-modes-people", type=int, default=1000, help="its sample size (its default)")
    parser.add_argument("--test-run", default=str(TEST_RUN), help="the file scripts/test.sh writes")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("render", help="rewrite README's marked blocks from docs/figures.json")
    commands.add_parser("check", help="exit 1 when README's marked blocks differ from docs/figures.json")
    record = commands.add_parser("record-tests", help="scripts/test.sh: write the suite's figures")
    for name in ("started", "setup-done", "lint-done", "tests-done", "junit", "times", "out", "workers"):
        record.add_argument(f"--{name}", required=name != "workers")
    record.add_argument("--exit-code", type=int, required=True)
    record.add_argument("--pytest-args", default="")
    args = parser.parse_args(argv)

    if args.command == "record-tests":
        return record_tests(args)
    if args.command == "render":
        README.write_text(apply(README.read_text(encoding="utf-8"), render(load())), encoding="utf-8")
        return 0
    if args.command == "check":
        stale = stale_blocks(README.read_text(encoding="utf-8"), load())
        if stale:
            print(f"README's figures differ from docs/figures.json: {stale}; run python scripts/figures.py render")
            return 1
        return 0
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
