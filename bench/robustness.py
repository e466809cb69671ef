"""Robustness benchmark: hostile and broken inputs through the real extractors (issue 14).

    python bench/robustness.py              # the corpus in bench/corpus/ (about 200 cases, under a minute)
    python bench/robustness.py --scale 5    # plus 4 x as many freshly mutated cases per source

Every case is one landing file, extracted (``extract_source``, real Parquet lake) in a fresh folder
beside a good file of the same source. Counted:

* ``crashes``: the extract raised, or its net for a parser that raised was needed (``cannot parse ...``);
* ``silent_losses``: rows neither loaded nor quarantined: the lake's row counts against the manifest,
  the good neighbour not loaded in full, and, where the corpus knows a file's data rows, fewer read;
* ``garbled_loads``: loaded rows holding U+FFFD or the mojibake of a seed value (张伟 read as 寮犱紵);
* ``unexplained``: quarantined rows without a reason, file errors that do not name the file.

When bench/robustness_activation.py exists (the activation side: ``run(scale=1) -> dict`` with
``cases``, ``secrets_found``, ``injections_rendered``, ``duplicate_sends_after_kill``), its figures
are merged in and its cases added. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

from intent_pipeline import lake  # noqa: E402
from intent_pipeline.settings import Settings  # noqa: E402
from intent_pipeline.sources import extract_source  # noqa: E402

from tests.sources import hostile as h  # noqa: E402

CORPUS = ROOT / "bench" / "corpus"
ACTIVATION = ROOT / "bench" / "robustness_activation.py"
DS = "2026-11-21"


def _mojibake() -> set[str]:
    """Wrong readings of the seed values: what a garbled load looks like."""
    values = [*h.NAMES, "上海示例科技", "免费试用申请", "价格 - 示例科技", "技术总监"]
    pairs = [("utf-8", "gb18030"), ("utf-8", "cp1252"), ("utf-8", "latin-1"), ("gbk", "utf-8"), ("gbk", "latin-1"),
             ("latin-1", "utf-8"), ("cp1252", "utf-8"), ("utf-8", "big5")]  # fmt: skip
    wrong = set()
    for value in values:
        for written, read in pairs:
            try:
                garbled = value.encode(written).decode(read, errors="replace")
            except UnicodeEncodeError:
                continue
            if garbled != value:
                wrong.add(garbled[:4])
    return {w for w in wrong if len(w) >= 2}


MOJIBAKE = _mojibake()


def _garbled(row: dict) -> str | None:
    for name, value in row.items():
        if not isinstance(value, str) or name.startswith("_"):
            continue
        if "\ufffd" in value:
            return f"{name}: U+FFFD in {value[:60]!r}"
        for wrong in MOJIBAKE:
            if wrong in value:
                return f"{name}: mojibake {wrong!r} in {value[:60]!r}"
    return None


def run_case(source: str, name: str, data: bytes, rows: int | None) -> dict:
    """Extract one hostile file beside a good one; the case's findings."""
    found = {"crash": None, "silent_loss": 0, "garbled": [], "unexplained": []}
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.from_env({"INTENT_HOME": home})
        folder = Path(settings.landing_url) / source / f"dt={DS}"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data)
        good_name, good_data, good_rows = h.good_file(source)
        (folder / good_name).write_bytes(good_data)
        try:
            manifest = extract_source(source, settings, h.MOMENT.date(), batch_id="bench/robustness")
        except Exception as exc:  # a crash is what this benchmark counts
            found["crash"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            return found
        for error in manifest["file_errors"]:
            if error.startswith("cannot parse"):
                found["crash"] = error[:300]
            if f"{source}/dt={DS}/" not in error:
                found["unexplained"].append(error[:200])
        entries = {e["path"].rsplit("/", 1)[-1]: e for e in manifest["files"]}
        found["silent_loss"] += max(0, good_rows - entries[good_name]["loaded"])
        mine = entries[name]
        if rows is not None:
            found["silent_loss"] += max(0, rows - mine["read"])
        for table, counts in manifest["tables"].items():
            raw = lake.read_partition(settings.lake_dir, "raw", table, DS).to_pylist()
            quarantined = lake.read_partition(settings.lake_dir, "quarantine", table, DS).to_pylist()
            found["silent_loss"] += abs(counts["read"] - len(raw) - len(quarantined))
            found["silent_loss"] += abs(counts["read"] - counts["loaded"] - counts["quarantined"])
            found["unexplained"] += [f"no reason: {r['_source_file']}#{r['_row_number']}"
                                     for r in quarantined if not (r["reason"] or "").strip()]  # fmt: skip
            found["garbled"] += [f"{r['_source_file']}#{r['_row_number']} {why}"
                                 for r in raw if (why := _garbled(r))]  # fmt: skip
    return found


def corpus_cases() -> list[dict]:
    entries = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))
    for entry in entries:
        entry["data"] = (CORPUS / entry["file"]).read_bytes()
    return entries


def extra_cases(count: int, seed: int = 14) -> list[dict]:
    """``count`` freshly mutated cases per source (1 to 3 mutations each)."""
    rnd = random.Random(seed)
    cases = []
    for source in h.SOURCES:
        for number in range(count):
            seed_name = rnd.choice(sorted(h.seeds(source)))
            mutations = rnd.sample(h.mutations_for(source), rnd.randint(1, 3))
            name, data = h.hostile_case(source, random.Random(rnd.random()), seed_name, mutations)
            stem, ext = name.rsplit(".", 1)
            cases.append({"source": source, "file": f"{source}/{stem}__extra{number}.{ext}", "rows": None,
                          "kind": "+".join(mutations), "data": data})  # fmt: skip
    return cases


def run(scale: int = 1) -> dict:
    """The extractor side's figures (see the module docstring)."""
    logging.disable(logging.CRITICAL)  # thousands of expected warnings; the figures say what matters
    started = time.monotonic()
    cases = corpus_cases()
    if scale > 1:
        cases += extra_cases(len(cases) * (scale - 1) // len(h.SOURCES))
    totals = {"cases": 0, "crashes": 0, "silent_losses": 0, "garbled_loads": 0, "unexplained": 0}
    per_source: dict[str, dict] = {}
    examples: list[str] = []
    for case in cases:
        found = run_case(case["source"], case["file"].split("/", 1)[1], case["data"], case["rows"])
        figures = per_source.setdefault(case["source"], {"cases": 0, "crashes": 0, "silent_losses": 0,
                                                         "garbled_loads": 0})  # fmt: skip
        crash = 1 if found["crash"] else 0
        for key, value in (("cases", 1), ("crashes", crash), ("silent_losses", found["silent_loss"]),
                           ("garbled_loads", len(found["garbled"]))):  # fmt: skip
            figures[key] += value
            totals[key] += value
        totals["unexplained"] += len(found["unexplained"])
        problems = [found["crash"], *found["garbled"][:1], *found["unexplained"][:1]]
        if found["silent_loss"]:
            problems.append(f"{found['silent_loss']} rows lost")
        examples += [f"{case['file']}: {p}" for p in problems if p][:1]
    logging.disable(logging.NOTSET)
    return {
        **totals,
        "extractor_cases": totals["cases"],
        "per_source": per_source,
        "examples": examples[:10],
        "seconds": round(time.monotonic() - started, 1),
    }


def _activation(scale: int) -> dict | None:
    if not ACTIVATION.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_robustness_activation", ACTIVATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run(scale=scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="cases multiplier (fresh mutations beyond the corpus)")
    parser.add_argument("--no-activation", action="store_true", help="skip bench/robustness_activation.py")
    args = parser.parse_args()
    result = run(args.scale)
    activation = None if args.no_activation else _activation(args.scale)
    if activation is not None:
        result["activation_cases"] = activation.get("cases", 0)
        result["cases"] += activation.get("cases", 0)
        for key, value in activation.items():
            if key != "cases":
                result.setdefault(key, value)
    else:
        result["activation"] = "bench/robustness_activation.py not present: activation figures not measured"
    for key in ("per_source", "examples"):
        print(f"{key}: {json.dumps(result[key], ensure_ascii=False)}", file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
