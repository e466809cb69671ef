"""When do a world's conversions happen? (issue 13, the twenty-third pass)

    python bench/scoring_conversion_delays.py DIR [DIR ...]

DIR is a world folder that ``python bench/scoring.py --keep K`` built (``K/world-<name>-<seed>``, or
``K`` itself when it holds one). Read-only on its warehouse, for the conversion the build was run with
(the world's dbt vars: ``lead_conversion_examples.conversion_definition``):

  delay_days      days from the lead's creation to its first conversion (int_lead_conversion_events
                  against stg_crm__leads.created_at), over every converted lead, and over the leads
                  created at least 180 days before the history's end (``settled``: a late conversion
                  had the time to show); quantiles and the shares after day 7, 30, 60 and 90
  by_age          per scoring age (the lead's point, then each ``snap<d>`` of int_lead_snapshot_examples):
                  examples with a closed window, how many converted within the window after that age,
                  and how many had converted before it (no example at that age)

No figure here is a score; it says what the later-snapshot examples can learn. Last line: one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
SETTLED_DAYS = 180


def _warehouse(folder: Path) -> Path:
    found = sorted(folder.glob("**/warehouse.duckdb"))
    found = [f for f in found if "serving" not in f.parts]
    if len(found) != 1:
        raise SystemExit(f"{folder}: expected one warehouse.duckdb under it, found {len(found)}")
    return found[0]


def _delays(con, settled_only: bool) -> dict:
    settled = (
        f"and leads.created_at <= (select max(created_at) from leads) - interval {SETTLED_DAYS} day"
        if settled_only
        else ""
    )
    row = con.execute(
        f"""
        with leads as (select lead_id, min(created_at) as created_at from staging.stg_crm__leads group by 1),
        firsts as (
            select lead_id, min(converted_at) as converted_at from intermediate.int_lead_conversion_events group by 1
        ),
        delays as (
            select date_diff('second', leads.created_at, firsts.converted_at) / 86400.0 as days
            from firsts join leads using (lead_id)
            where true {settled}
        )
        select count(*), {", ".join(f"quantile_cont(days, {q})" for q in QUANTILES)}, max(days),
            avg((days > 7)::int), avg((days > 30)::int), avg((days > 60)::int), avg((days > 90)::int)
        from delays
        """
    ).fetchone()
    out = {"conversions": row[0]}
    out.update(
        {f"p{round(q * 100)}": round(v, 1) if v is not None else None for q, v in zip(QUANTILES, row[1:6], strict=True)}
    )
    out["max"] = round(row[6], 1) if row[6] is not None else None
    out.update(
        {
            f"share_after_{d}": round(v, 3) if v is not None else None
            for d, v in zip((7, 30, 60, 90), row[7:], strict=True)
        }
    )
    return out


def _by_age(con) -> dict:
    rows = con.execute(
        """
        select 'point' as age, count(*) filter (where label_complete and not converted_before_scoring),
            count(*) filter (where label_complete and not converted_before_scoring and converted),
            count(*) filter (where converted_before_scoring)
        from marts.lead_conversion_examples
        union all
        select split_part(example_id, ':', 1), count(*) filter (where label_complete and not converted_before_snapshot),
            count(*) filter (where label_complete and not converted_before_snapshot and converted),
            count(*) filter (where converted_before_snapshot)
        from intermediate.int_lead_snapshot_examples group by 1
        order by 1
        """
    ).fetchall()
    return {age: {"examples": n, "converted": c, "converted_before": b} for age, n, c, b in rows}


def measure(folder: Path) -> dict:
    import duckdb

    path = _warehouse(folder)
    con = duckdb.connect(str(path), read_only=True)
    try:
        definition = con.execute(
            "select any_value(conversion_definition) from marts.lead_conversion_examples"
        ).fetchone()[0]
        return {
            "world": path.parent.parent.name if path.parent.name == "data" else str(folder),
            "conversion": definition,
            "delay_days": _delays(con, settled_only=False),
            "delay_days_settled": _delays(con, settled_only=True),
            "by_age": _by_age(con),
        }
    finally:
        con.close()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    results = [measure(Path(a)) for a in argv]
    for r in results:
        d, s = r["delay_days"], r["delay_days_settled"]
        print(f"{r['world']} ({r['conversion']}): {d['conversions']} converted leads, days p50 {d['p50']} "
              f"p90 {d['p90']} max {d['max']}, after day 30 {d['share_after_30']}; settled {s['conversions']}: "
              f"p90 {s['p90']} max {s['max']}, after day 30 {s['share_after_30']}")  # fmt: skip
        for age, a in r["by_age"].items():
            print(
                f"  {age:>6}: {a['examples']} examples, {a['converted']} converted, "
                f"{a['converted_before']} converted before"
            )
    print(json.dumps({"worlds": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
