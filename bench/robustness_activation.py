"""Benchmark: hostile values, failing destinations and kills against activation (issue 14, items 5-7).

    python bench/robustness_activation.py [--scale N] [--keep DIR]

Real activation code against the local fakes (tests/fakes/), three parts:

1. injections: every value of the hostile corpus (tests/activation/hostile_values.json: mentions,
   links, images, headings, line breaks, emphasis, HTML, control characters, a lone surrogate,
   formulas) in every field of every kind of message (a lead, a stall, both digests) of every chat
   robot (DingTalk, WeCom, Feishu, Slack), in Chinese and English; a case counts as an injection when
   the message's markup differs from the same message with a plain value, the value's text is
   missing, or rendering fails (tests/activation/hostile.py). With --scale N > 1, (N - 1) x 200 more
   values made by joining two corpus values and cutting them at random (seeded) are rendered too.
   The corpus's CSV cells are checked against Salesforce Bulk CSV and formula rules.
2. secrets: all seven destinations configured with canary secrets against an endpoint that echoes
   the request in its errors and fails one way per scenario (connection refused, timeout, 400, 401,
   403, 404, 429, 500, 503, a body that is not JSON, JSON of the wrong shape); every file the run
   wrote (the ledger's SQLite, the outbox, the reports, the log captured at DEBUG) and the error it
   raised are searched for the canaries. secrets_found = canaries found (file x secret).
3. kills: real subprocesses killed with SIGKILL: while the DingTalk fake withholds its answer to
   message k of 31 (k = 3; with --scale N also 1 and 31 and up to N more points), and right after /
   right before the second HubSpot outbox file of 215 contacts; each then run again.
   duplicate_sends_after_kill = messages posted twice + outbox rows written twice; lost_after_kill =
   leads never alerted (apart from the alert in doubt) + contacts in no outbox file.

Last line: one JSON object (``run(scale)`` returns it as a dict).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

from intent_pipeline.activation.escape import FORMULA_START, csv_safe  # noqa: E402
from intent_pipeline.activation.salesforce.bulk import csv_line, read_csv  # noqa: E402
from intent_pipeline.settings import Settings  # noqa: E402

from tests.activation import hostile  # noqa: E402
from tests.activation.conftest import make_rows, write_segment  # noqa: E402
from tests.activation.test_canary import canaries_in, run_everything, written_texts  # noqa: E402
from tests.activation.test_kill import GUARD, RUN, activation, emails_in, run_env  # noqa: E402
from tests.fakes.dingtalk import FakeDingTalk  # noqa: E402
from tests.fakes.failing import MODES, FailingServer, refused_url  # noqa: E402

EXTRA_VALUES_PER_SCALE = 200


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- 1. injections ------------------------------------------------------------------------------


def generated_values(count: int, seed: int = 14) -> list[str]:
    """``count`` values made of two corpus values joined and cut at random points (seeded)."""
    values = [item["value"] for item in hostile.corpus()["chat"]]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        joined = rng.choice(values) + rng.choice(["", " ", "\n", "\t"]) + rng.choice(values)
        start, end = sorted(rng.sample(range(len(joined) + 1), 2))
        out.append(joined[start:end] or joined)
    return out


def injections(scale: int) -> dict:
    cases = list(hostile.cases())
    extra = generated_values((scale - 1) * EXTRA_VALUES_PER_SCALE)
    if extra:
        fields = [(v, k, f) for v in hostile.DESTINATIONS for k in hostile.KINDS for f in hostile.LEAD_FIELDS]
        rng = random.Random(41)
        for value in extra:
            vendor, kind, field = rng.choice(fields)
            cases.append(hostile.Case(vendor, kind, rng.choice(hostile.LANGUAGES), field, "generated", value))
    found, examples = 0, []
    for case in cases:
        try:
            why = hostile.injection(case)
        except Exception as error:  # a value that crashes rendering is a failure too
            why = f"{type(error).__name__}: {error}"
        if why:
            found += 1
            if len(examples) < 5:
                examples.append({"vendor": case.vendor, "kind": case.kind, "field": case.field, "why": case.why,
                                 "found": why[:200]})  # fmt: skip
    csv_cases = hostile.corpus()["csv"]
    cells = read_csv(
        "Email,Company\n" + "".join(csv_line([f"p{i}@x.example", c["value"]]) for i, c in enumerate(csv_cases))
    )
    csv_bad = sum(
        1
        for case, cell in zip(csv_cases, cells, strict=True)
        if cell["Company"] != case["expect"]
        or cell["Company"].strip().upper() == "#N/A"
        or (cell["Company"].startswith(FORMULA_START) and csv_safe(cell["Company"]) != cell["Company"])
    )
    return {
        "render_cases": len(cases),
        "csv_cases": len(csv_cases),
        "injections_rendered": found,
        "csv_injections": csv_bad,
        "injection_examples": examples,
    }


# --- 2. secrets ---------------------------------------------------------------------------------


@contextmanager
def debug_log(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def secrets(base: Path) -> dict:
    found: list[tuple[str, str]] = []
    scenarios = 0
    for mode in ("refused", *MODES):
        home = base / f"canary-{mode}"
        settings = Settings.from_env({"INTENT_HOME": str(home)})
        write_segment(settings.warehouse, make_rows(12, hot_every=4))
        progress(f"secrets: every destination failing with {mode}")
        with debug_log(home / "logs" / "activate.log"):
            if mode == "refused":
                raised = run_everything(settings, refused_url(), timeout=5)
            else:
                with FailingServer(mode, delay=0.5) as server:
                    raised = run_everything(settings, server.url, timeout=0.2)
        texts = written_texts(home)
        texts["raised"] = "\n".join(raised)
        found += [(f"{mode}:{Path(where).name}", name) for where, name in canaries_in(texts)]
        scenarios += 7  # seven destinations failing this way
    return {"secret_scenarios": scenarios, "secrets_found": len(found), "secret_examples": found[:5]}


# --- 3. kills -----------------------------------------------------------------------------------


def chat_kill(base: Path, hold_at: int, leads: int = 31) -> dict:
    home = base / f"kill-chat-{hold_at}"
    write_segment(home / "data" / "warehouse.duckdb", make_rows(leads, hot_every=1))
    with FakeDingTalk(secret="SECbench") as robot:
        robot.hold(hold_at)
        env = run_env(home, ROBOT_URL=robot.webhook_url, ROBOT_TOKEN=robot.access_token, ROBOT_SECRET="SECbench")
        child = subprocess.Popen(
            [sys.executable, "-c", RUN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            if not robot.holding.wait(GUARD):
                raise RuntimeError(f"the run never reached message {hold_at}: {child.communicate()[1][-2000:]!r}")
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(GUARD)
            robot.release.set()
        again = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=GUARD)
        if again.returncode != 0:
            raise RuntimeError(f"the re-run failed: {again.stderr[-2000:]}")
        per_lead = Counter(e for m in robot.messages for e in emails_in(m["markdown"]["text"]))
    return {"duplicates": sum(n - 1 for n in per_lead.values()), "lost": leads - len(per_lead)}


def outbox_kill(base: Path, when: str, contacts: int = 215) -> dict:
    home = base / f"kill-outbox-{when}"
    write_segment(home / "data" / "warehouse.duckdb", make_rows(contacts))
    killed = activation(home, KILL_OUTBOX=f"hubspot:2:{when}")
    if killed.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the run was not killed: {killed.returncode} {killed.stderr[-2000:]}")
    again = activation(home)
    if again.returncode != 0:
        raise RuntimeError(f"the re-run failed: {again.stderr[-2000:]}")
    folder = home / "data" / "outbox" / "hubspot" / "dt=2026-11-21"
    ids = Counter(i["id"] for f in folder.glob("batch-*.json") for i in json.loads(f.read_text())["inputs"])
    return {"duplicates": sum(n - 1 for n in ids.values()), "lost": contacts - len(ids)}


def kills(base: Path, scale: int) -> dict:
    points = [3] if scale <= 1 else sorted({1, 3, 31, *random.Random(7).sample(range(2, 31), min(scale, 28))})
    results = []
    for k in points:
        progress(f"kills: DingTalk holds message {k} of 31; SIGKILL; re-run")
        results.append(chat_kill(base, k))
    for when in ("after", "before"):
        progress(f"kills: SIGKILL right {when} the second HubSpot outbox file; re-run")
        results.append(outbox_kill(base, when))
    return {
        "kill_scenarios": len(results),
        "duplicate_sends_after_kill": sum(r["duplicates"] for r in results),
        "lost_after_kill": sum(r["lost"] for r in results),
    }


# --- all ----------------------------------------------------------------------------------------


def run(scale: int = 1, keep: Path | None = None) -> dict:
    """Every part at ``scale``; the figures as a dict (``cases`` = all the hostile cases tried)."""
    started = time.perf_counter()
    base = keep or Path(tempfile.mkdtemp(prefix="bench-robustness-activation-"))
    try:
        progress("injections: the hostile corpus in every field of every message of every robot")
        result: dict = {"benchmark": "robustness_activation", "scale": scale}
        result.update(injections(scale))
        result.update(secrets(base))
        result.update(kills(base, scale))
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)
    result["cases"] = (
        result["render_cases"] + result["csv_cases"] + result["secret_scenarios"] + result["kill_scenarios"]
    )
    result["injections_rendered"] += result.pop("csv_injections")
    result["goals"] = {
        "secrets_found_0": result["secrets_found"] == 0,
        "injections_rendered_0": result["injections_rendered"] == 0,
        "duplicate_sends_after_kill_0": result["duplicate_sends_after_kill"] == 0,
        "lost_after_kill_0": result["lost_after_kill"] == 0,
    }
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1, help="more generated values and kill points (default 1)")
    parser.add_argument("--keep", type=Path, help="keep the runs' files in this folder")
    args = parser.parse_args()
    print(json.dumps(run(args.scale, args.keep), ensure_ascii=False))


if __name__ == "__main__":
    main()
