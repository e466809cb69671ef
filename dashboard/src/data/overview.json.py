"""Overview: KPIs with the change since the previous interval, the hot-lead gauge, the last run's gates
(marts.quality_gate_results)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _serving import Marts, config, emit, published, run_summaries  # noqa: E402

marts = Marts()
summaries = run_summaries()
serving = published()
interval = serving.get("interval_start")
current = next((s for s in summaries if s.get("interval_start") == interval), summaries[-1] if summaries else {})
earlier = [s for s in summaries if s.get("interval_start", "") < (current.get("interval_start") or "")]
previous = earlier[-1] if earlier else {}

# grades now (marts.lead_scores) and at the snapshot before (marts.lead_score_history)
grades = marts.rows("select grade, count(*) as leads from marts.lead_scores group by grade order by grade")
snapshots = marts.rows(
    "select snapshot_date, count(distinct person_id) as people, "
    "count(*) filter (where grade = 'high_intent') as high_intent, "
    "count(*) filter (where grade = 'potential') as potential, "
    "count(*) filter (where grade = 'nurture') as nurture "
    "from marts.lead_score_history group by snapshot_date order by snapshot_date"
)
before = snapshots[-2] if len(snapshots) > 1 else None
by_grade = {row["grade"]: row["leads"] for row in grades}


def kpi(key, zh, en, mart, now, prior):
    return {"key": key, "label_zh": zh, "label_en": en, "mart": mart, "current": now, "previous": prior,
            "change": None if now is None or prior is None else now - prior}  # fmt: skip


def summary_value(summary, *path):
    value = summary
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def quarantined(summary):
    sources = summary.get("sources") or {}
    return sum(t.get("quarantined", 0) for tables in sources.values() for t in tables.values()) if sources else None


def quarantine_kpi():
    """Rows quarantined by the published interval's extracts and the interval before, from
    marts.quarantine_daily; from the run summaries when the serving copy predates that mart."""
    if not (marts.folder / "quarantine_daily.parquet").exists():
        return kpi("quarantined", "隔离行数", "Rows quarantined", "run summary", quarantined(current),
                   quarantined(previous))  # fmt: skip
    days = marts.rows(
        "select cast(interval_start as varchar) as day, sum(rows_quarantined) as rows from marts.quarantine_daily "
        "where interval_start <= cast(? as date) group by 1 order by 1",
        interval or "9999-12-31",
    )
    now = days[-1] if days and days[-1]["day"] == interval else None
    before_day = [d for d in days if d["day"] < (interval or "9999-12-31")]
    return kpi("quarantined", "隔离行数", "Rows quarantined", "marts.quarantine_daily", now["rows"] if now else None,
               before_day[-1]["rows"] if before_day else None)  # fmt: skip


def quality_gates():
    """The published interval's gate verdicts from marts.quality_gate_results (publish put the run's
    marts-gate verdict in the serving copy; docs/dashboards.md, "Quality gates"): per layer, and the
    failed expectations."""
    mart = "marts.quality_gate_results"
    if not (marts.folder / "quality_gate_results.parquet").exists():
        missing = "the serving copy has no marts.quality_gate_results (published before it existed)"
        return {"mart": mart, "interval_start": interval, "layers": [], "failed": [], "history": [], "missing": missing}
    day = interval or "9999-12-31"
    layers = marts.rows(
        "select layer, max(run_id) as run_id, count(distinct suite) as suites, count(*) as expectations, "
        "count(*) filter (where not success and is_critical) as critical_failed, "
        "count(*) filter (where not success and not is_critical) as warnings_failed, "
        "count(*) filter (where not success and is_critical) = 0 as passed, "
        "max(validated_at) as validated_at "
        "from marts.quality_gate_results where interval_start = cast(? as date) "
        "group by layer order by case layer when 'raw' then 1 when 'marts' then 2 else 3 end, layer",
        day,
    )
    failed = marts.rows(
        "select layer, suite, expectation, column_name, severity, rows_checked, unexpected_count, "
        "unexpected_percent, error "
        "from marts.quality_gate_results where interval_start = cast(? as date) and not success "
        "order by layer, is_critical desc, suite, expectation_number",
        day,
    )
    history = marts.rows(
        "select cast(interval_start as varchar) as interval_start, layer, "
        "count(*) filter (where not success and is_critical) as critical_failed, "
        "count(*) filter (where not success and not is_critical) as warnings_failed "
        "from marts.quality_gate_results where interval_start <= cast(? as date) "
        "group by 1, 2 order by 1 desc, 2 desc limit 14",
        day,
    )
    return {"mart": mart, "interval_start": interval, "layers": layers, "failed": failed, "history": history}


# activation is recorded in the warehouse by the build after it: the latest interval marts.activation_runs holds
activation = marts.rows(
    "select cast(interval_start as date) as interval_start, "
    "sum(sent_ok) filter (where destination_name not in ('dingtalk', 'wecom', 'feishu', 'slack')) as crm_pushes, "
    "sum(rejected + invalid + dead_lettered) as rejects "
    "from marts.activation_runs group by 1 order by 1"
)
act_now = activation[-1] if activation else {}
act_before = activation[-2] if len(activation) > 1 else {}

hot_now = marts.one("select count(*) from marts.lead_scores where grade = 'high_intent'")
kpis = [
    kpi("people", "人数", "People", "marts.people", marts.one("select count(*) from marts.people"),
        before["people"] if before else None),
    kpi("high_intent", "高意向线索", "High-intent leads", "marts.lead_scores", by_grade.get("high_intent", 0),
        before["high_intent"] if before else None),
    kpi("potential", "潜在线索", "Potential leads", "marts.lead_scores", by_grade.get("potential", 0),
        before["potential"] if before else None),
    kpi("nurture", "培育线索", "Nurture leads", "marts.lead_scores", by_grade.get("nurture", 0),
        before["nurture"] if before else None),
    kpi("newly_hot", "新增高意向", "Newly hot leads", "marts.lead_scores",
        marts.one("select count(*) from marts.lead_scores where became_hot_in_interval"),
        summary_value(previous, "warehouse", "newly_hot")),
    kpi("stalls", "停滞商机", "Funnel stalls", "marts.segment_funnel_stalls",
        marts.one("select count(*) from marts.segment_funnel_stalls"),
        summary_value(previous, "warehouse", "funnel_stalls")),
    kpi("crm_pushes", "推送CRM", "CRM pushes", "marts.activation_runs", act_now.get("crm_pushes"),
        act_before.get("crm_pushes")),
    kpi("activation_rejects", "推送被拒", "Activation rejects", "marts.activation_runs", act_now.get("rejects"),
        act_before.get("rejects")),
    quarantine_kpi(),
]  # fmt: skip

emit({
    "interval_start": interval,
    "previous_interval": previous.get("interval_start") or (str(before["snapshot_date"]) if before else None),
    "activation_interval": act_now.get("interval_start"),
    "run_id": serving.get("run_id"),
    "published_at": serving.get("published_at"),
    "version": serving.get("version"),
    "kpis": kpis,
    "hot_leads": {"mart": "marts.lead_scores", "value": hot_now, "target": config()["hot_lead_target"]},
    "grades": {"mart": "marts.lead_scores", "rows": grades},
    "snapshots": {"mart": "marts.lead_score_history", "rows": snapshots},
    "quality": quality_gates(),
})  # fmt: skip
