"""Determinism, scale, drops and the command line of ``intent_pipeline.synth``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from intent_pipeline.synth import generate

from tests.synth import helpers as h

ROOT = Path(__file__).resolve().parents[2]


def _files(base: Path) -> dict[str, bytes]:
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def _without_paths(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("landing", "truth_dir")}


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    runs = {}
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        summary = generate(tmp_path / name / "landing", tmp_path / name / "truth", people=80, seed=seed)
        runs[name] = (summary, _files(tmp_path / name / "landing"), _files(tmp_path / name / "truth"))
    (sa, la, ta), (sb, lb, tb), (_, lc, tc) = runs["a"], runs["b"], runs["c"]
    assert _without_paths(sa) == _without_paths(sb)
    assert la == lb  # including the XLSX, whose metadata holds no creation time
    assert {k: v for k, v in ta.items() if k != "summary.json"} == {k: v for k, v in tb.items() if k != "summary.json"}
    assert lc.keys() == la.keys()
    assert all(lc[k] != la[k] for k in la), "every file changes with the seed"
    assert tc["people.csv"] != ta["people.csv"]


def test_same_seed_gives_the_same_bytes_across_processes_with_hubs_and_daily_drops(tmp_path):
    """Hubs, typos and several drops, each run in its own interpreter with another string hash seed:
    nothing written may depend on the iteration order of a set or on anything but the arguments."""
    args = ["--people", "150", "--history-days", "40", "--daily-drops", "2", "--pollution", "polluted"]
    base = [sys.executable, "-m", "intent_pipeline.synth", *args]
    summaries = {}
    for name, seed, hash_seed in (("a", 21, "1"), ("b", 21, "2"), ("c", 22, "1")):
        env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "PYTHONHASHSEED": hash_seed}
        out = tmp_path / name
        run = [*base, "--seed", str(seed), "--landing", str(out / "landing"), "--truth", str(out / "truth")]
        done = subprocess.run(run, env=env, capture_output=True, text=True, cwd=ROOT, check=True)
        summaries[name] = json.loads(done.stdout.strip().splitlines()[-1])
    assert sum(h["identifiers"] for h in summaries["a"]["hubs"].values()) > 0, "the run must plan hubs"
    assert _without_paths(summaries["a"]) == _without_paths(summaries["b"])
    landing, truth = _files(tmp_path / "a" / "landing"), _files(tmp_path / "a" / "truth")
    assert landing == _files(tmp_path / "b" / "landing")
    del truth["summary.json"]  # it names its folders
    assert truth == {k: v for k, v in _files(tmp_path / "b" / "truth").items() if k != "summary.json"}
    other = _files(tmp_path / "c" / "truth")
    assert other["people.csv"] != truth["people.csv"] and other["identifiers.csv"] != truth["identifiers.csv"]


def test_rerun_into_the_same_folder_replaces_the_drop(tmp_path):
    generate(tmp_path / "landing", tmp_path / "truth", people=120, seed=3)
    first = _files(tmp_path / "landing")
    stray = tmp_path / "landing" / "web" / "dt=2026-11-21" / "stale.jsonl"
    stray.write_text("{}\n")
    generate(tmp_path / "landing", tmp_path / "truth", people=120, seed=3)
    assert _files(tmp_path / "landing") == first


def test_people_count_drives_the_volume(tmp_path):
    small = generate(tmp_path / "s" / "landing", tmp_path / "s" / "truth", people=40, seed=5)
    large = generate(tmp_path / "l" / "landing", tmp_path / "l" / "truth", people=240, seed=5)
    assert len(h.read_truth(tmp_path / "s" / "truth", "people.csv")) == 40 == small["people"]
    assert len(h.read_truth(tmp_path / "l" / "truth", "people.csv")) == 240 == large["people"]
    for source in ("forms", "email", "web", "crm"):
        assert large["rows"][source] > 2.5 * small["rows"][source], source
    assert small["bad_rows"] == large["bad_rows"], "planted rows do not scale"


def test_daily_drops_split_the_last_days_and_put_older_history_in_the_first(tmp_path):
    summary = generate(
        tmp_path / "landing",
        tmp_path / "truth",
        people=200,
        seed=9,
        interval_start=date(2026, 11, 21),
        history_days=30,
        daily_drops=3,
    )
    days = ["dt=2026-11-19", "dt=2026-11-20", "dt=2026-11-21"]
    assert summary["drops"] == ["2026-11-19", "2026-11-20", "2026-11-21"]
    for source in ("forms", "email", "web", "crm"):
        assert [p.name for p in h.drop_dirs(tmp_path / "landing", source)] == days, source
    dates_by_drop: dict[str, set[str]] = {d: set() for d in days}
    for file, _, event, _ in h.web_lines(tmp_path / "landing"):
        if event and "user_pseudo_id" in event:
            dates_by_drop[file.split("/")[1]].add(event["event_date"])
    assert dates_by_drop["dt=2026-11-21"] == {"20261121"}
    assert dates_by_drop["dt=2026-11-20"] == {"20261120"}
    older = dates_by_drop["dt=2026-11-19"]
    assert max(older) == "20261119" and min(older) == "20261022"  # history starts interval_start - 30 days
    planted = h.read_truth(tmp_path / "truth", "bad_rows.csv")
    assert planted and all("dt=2026-11-21" in r["file"] for r in planted)
    forms_per_drop = {d: 0 for d in days}
    for r in h.form_rows(tmp_path / "landing"):
        forms_per_drop[r["file"].split("/")[1]] += 1
    assert all(n > 0 for n in forms_per_drop.values()), forms_per_drop


@pytest.mark.parametrize(
    "kwargs",
    [{"people": 0}, {"history_days": -1}, {"daily_drops": -1}, {"history_days": 5, "daily_drops": 7}],
)
def test_bad_arguments_are_refused_before_writing(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate(tmp_path / "landing", tmp_path / "truth", **kwargs)
    assert not (tmp_path / "landing").exists()


def test_command_line_prints_the_summary_as_json_on_the_last_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    args = [
        sys.executable,
        "-m",
        "intent_pipeline.synth",
        "--people",
        "60",
        "--seed",
        "4",
        "--date",
        "2026-11-21",
        "--history-days",
        "20",
        "--daily-drops",
        "2",
        "--landing",
        str(tmp_path / "landing"),
        "--truth",
        str(tmp_path / "truth"),
    ]
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["people"] == 60 and summary["drops"] == ["2026-11-20", "2026-11-21"]
    assert summary == json.loads((tmp_path / "truth" / "summary.json").read_text())
    again = generate(
        tmp_path / "l2",
        tmp_path / "t2",
        people=60,
        seed=4,
        interval_start=date(2026, 11, 21),
        history_days=20,
        daily_drops=2,
    )
    assert _without_paths(again) == _without_paths(summary)
    bad = subprocess.run([*args[:4], "0", *args[5:]], env=env, capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "people must be at least 1" in bad.stderr
