"""``python -m intent_pipeline rules check``: what an edit of ``seeds/scoring_rules.csv`` will do
before it is applied (issue 21, item 1).

Two parts:

* **The table itself** (no warehouse needed, a fraction of a second): per rule, caps lower than
  its points (``points`` 40 with ``max_points_per_day`` and ``max_points`` 30 earns 30: the edit of
  points alone changes nothing), rules that can never fire (an unknown signal, event type, form
  type or keyword group, a page pattern no path can match, a condition the event type never
  has, a missing count or window), and overlapping rules (two enabled rules one event or one
  title fires together: both sets of points are awarded).
* **The effect on the current warehouse** (``--warehouse``, default ``INTENT_WAREHOUSE``): the
  rules the warehouse was last built with (its ``staging.scoring_rules``) against the table on
  disk, then the real dbt models between the seed and ``marts.segment_high_intent`` run on a
  throw-away copy of the warehouse with the new table: how many scores and grades change
  (grade to grade), the segment's size before and after, and per changed rule how many people's
  points of it change. A rule whose points were edited but whose points change for nobody gets
  the reason (capped, disabled, never fires here, or no one has it).

The same table checks run in every ``dbt build`` as the singular test
``dbt_project/tests/scoring_rules_take_effect.sql`` (caps below points, unknown form types and
keyword groups), severity warn: the build goes on and its log says which rule.

Exit status: 1 when a rule has an error (its edit cannot take effect as written), else 0.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
SEEDS = DBT_PROJECT_DIR / "seeds"
RULES_CSV = SEEDS / "scoring_rules.csv"

# opportunity_stage / opportunity_stalled: the opportunity rules (outcome_stages says which stage no rule
# may read), email_delivery: the ESP's messages (issue 13)
SIGNALS = ("event", "title", "industry", "company_size", "silence", "sales_activity", "session",
           "opportunity_stage", "opportunity_stalled", "email_delivery")  # fmt: skip
# stg_crm__activities' activity types; a sales_activity rule names one, or one with its outcome
SALES_ACTIVITY_TYPES = ("call", "email", "meeting", "task")
SALES_ACTIVITY_EVENT_TYPES = tuple(
    f"{kind}{outcome}" for kind in SALES_ACTIVITY_TYPES for outcome in ("", "_succeeded", "_failed")
)
# SendGrid's delivery events (stg_email__events.sendgrid_event) an email_delivery rule names: the ones
# macro person_delivery_events reads (processed is a message sent)
EMAIL_DELIVERY_EVENT_TYPES = ("processed", "delivered", "deferred", "dropped")
# the signals whose event_type names a kind of their own relation (not an int_events_unified event): the
# kinds, what the message says a rule names, why an event's page, form or engagement condition never fires
TYPED_SIGNALS = {
    "sales_activity": (
        SALES_ACTIVITY_EVENT_TYPES,
        f"an activity type ({', '.join(SALES_ACTIVITY_TYPES)}), optionally with _succeeded or _failed",
        "CRM activities have none",
    ),
    "email_delivery": (
        EMAIL_DELIVERY_EVENT_TYPES,
        f"a delivery event of the ESP ({', '.join(EMAIL_DELIVERY_EVENT_TYPES)}); opens and clicks are event rules",
        "a delivered message has none",
    ),
}
DECAYS = ("none", "half_life", "linear")
# int_events_unified's event types (its docstring lists them); only these can make an event rule fire
EVENT_TYPES = (
    "form_submitted", "page_view", "email_open", "email_click", "email_bounce", "email_unsubscribe",
    "email_resubscribe", "email_spamreport", "opportunity_created", "opportunity_won", "order_placed",
)  # fmt: skip
# the event types that carry a page path and an engagement time (web events); forms carry a form type
PAGE_EVENT_TYPES = ("page_view",)
FORM_EVENT_TYPES = ("form_submitted",)
# event types a source of this project may emit but does not yet (docs/scoring.md: online meeting)
FUTURE_EVENT_TYPES = ("meeting_attended",)

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Finding:
    """One thing the check says about one rule (or two: ``other_rule_id`` for an overlap)."""

    rule_id: str
    kind: str  # cap_below_points, never_fires, overlap, no_effect, ...
    severity: str  # error (the edit cannot work as written), warning, info
    message: str
    other_rule_id: str | None = None


@dataclass
class Report:
    rules_path: str
    rules: int
    enabled: int
    findings: list[Finding] = field(default_factory=list)
    effect: dict[str, Any] | None = None

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rules_path": self.rules_path,
            "rules": self.rules,
            "enabled": self.enabled,
            "errors": self.errors,
            "warnings": sum(1 for f in self.findings if f.severity == WARNING),
            "findings": [asdict(f) for f in self.findings],
            "effect": self.effect,
        }


# --- reading the tables -------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in csv.DictReader(handle)]


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(float(value))


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _enabled(row: dict) -> bool:
    from intent_pipeline.settings import switch

    return switch(str(row.get("is_enabled") or ""), f"rule {row.get('rule_id')!r}: is_enabled")


@dataclass(frozen=True)
class Lookups:
    """The seeds a rule's conditions name: form types (form_types.csv), keyword groups
    (title_keywords.csv), cap groups (scoring_cap_groups.csv)."""

    form_types: frozenset[str]
    keyword_groups: frozenset[str]
    keywords: dict[str, frozenset[str]]
    cap_groups: dict[str, int]
    # var opportunity_stages (lower-cased, in order) and what converts (Conversion): an opportunity rule's
    # stage is one of the former and never the outcome the latter names
    stages: tuple[str, ...] = ()
    conversion: Conversion | None = None

    @classmethod
    def from_seeds(cls, seeds: Path = SEEDS, conversion: Conversion | None = None) -> Lookups:
        keywords: dict[str, set[str]] = {}
        for row in read_csv(seeds / "title_keywords.csv"):
            keywords.setdefault(row["keyword_group"], set()).add(row["keyword"].lower())
        return cls(
            form_types=frozenset(row["form_type"] for row in read_csv(seeds / "form_types.csv")),
            keyword_groups=frozenset(keywords),
            keywords={group: frozenset(words) for group, words in keywords.items()},
            cap_groups={row["cap_group"]: int(row["max_points"]) for row in read_csv(seeds / "scoring_cap_groups.csv")},
            stages=opportunity_stages(),
            conversion=conversion or Conversion.configured(),
        )


def project_vars() -> dict[str, Any]:
    """The vars of dbt_project.yml (their defaults, as dbt reads them without --vars)."""
    import yaml

    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8")).get("vars", {})


def opportunity_stages() -> tuple[str, ...]:
    """var opportunity_stages of dbt_project.yml, lower-cased (as macro opportunity_stage_index compares)."""
    return tuple(str(s).strip().lower() for s in project_vars().get("opportunity_stages", []))


# macro conversion_definition's text: the event, stage_reached's stage (any text, " within " too: the
# stage is greedy, the window the last " within <n> days"), the window
DEFINITION = re.compile(r"(?P<event>[a-z_]+)(?: (?P<stage>.+))? within (?P<days>[0-9]+) days")


@dataclass(frozen=True)
class Conversion:
    """What converts (docs/scoring.md, "What converts"): the dbt var conversion_event and, for
    stage_reached, conversion_stage."""

    event: str
    stage: str | None = None

    @classmethod
    def configured(cls) -> Conversion:
        """As dbt reads it without --vars: INTENT_CONVERSION_EVENT, else opportunity_created (macro
        conversion_event); conversion_stage from dbt_project.yml."""
        from intent_pipeline.settings import Settings

        event = Settings.from_env().conversion_event.strip()
        return cls(event, str(project_vars().get("conversion_stage", "")).strip() or None)

    @classmethod
    def from_definition(cls, text: str) -> Conversion:
        """From lead_conversion_examples.conversion_definition ("stage_reached Proposal within 30 days",
        "opportunity_won within 90 days"; macro conversion_definition): what the warehouse was labelled
        with. The window is the last " within <n> days", so a stage may itself say "within"; only
        stage_reached names a stage. ValueError for any other text."""
        found = DEFINITION.fullmatch(text.strip())
        stage = (found["stage"] or "").strip() or None if found else None
        if not found or (stage is not None) != (found["event"] == "stage_reached"):
            raise ValueError(
                f"conversion definition {text!r} is not '<event> within <n> days' or 'stage_reached <stage> within "
                "<n> days' (macro conversion_definition writes it)"
            )
        return cls(found["event"], stage)


def outcome_stages(conversion: Conversion, stages: Sequence[str]) -> tuple[str, ...]:
    """The stages (of ``stages``, lower-cased) whose reaching *is* the conversion: for stage_reached the
    conversion stage and every later one (int_lead_conversion_events counts a later stage as reached),
    for opportunity_won the last stage (var opportunity_stages ends with the won stage); none for
    opportunity_created and order_placed (an opportunity rule reads stages, not creation or orders)."""
    if conversion.event == "stage_reached" and conversion.stage and conversion.stage.lower() in stages:
        return tuple(stages[stages.index(conversion.stage.lower()) :])
    if conversion.event == "opportunity_won" and stages:
        return (stages[-1],)
    return ()


def leaks_outcome(row: dict, stages: Sequence[str], conversion: Conversion) -> str | None:
    """Why an opportunity_stage rule reads the outcome itself (its stage is the conversion or a later
    stage), or None: such a rule fires exactly when the label says converted, so it must never score."""
    if row.get("signal") != "opportunity_stage":
        return None
    stage = str(row.get("event_type") or "").strip().lower()
    outcome = outcome_stages(conversion, stages)
    if stage and stage in outcome:
        what = f"{conversion.event} {conversion.stage}" if conversion.event == "stage_reached" else conversion.event
        return (f"stage {row.get('event_type')!r} is the outcome: the conversion is {what} (stages "
                f"{', '.join(outcome)}), so the rule would fire exactly when the label says converted; "
                "choose an earlier stage or another conversion")  # fmt: skip
    return None


# --- the table checks ---------------------------------------------------------------------------


def like_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE as a regular expression (``%`` any run, ``_`` one character)."""
    parts = ("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern)
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)


def _like_overlap(a: str | None, b: str | None) -> bool:
    """Whether two LIKE patterns can match one path: either is empty (any path), or one matches
    the other read as a path with its wildcards as ordinary characters (a sufficient test for the
    prefixes this table uses: ``/pricing%`` and ``/pricing/enterprise%``)."""
    if not a or not b:
        return True
    return bool(like_regex(a).match(b.replace("%", "")) or like_regex(b).match(a.replace("%", "")))


def caps(row: dict) -> list[Finding]:
    """Caps lower than the points: one hit earns the cap, so points above it change nothing."""
    rule_id, points = row["rule_id"], _int(row.get("points"))
    if not points:
        return []
    out = []
    limits = [(name, _int(row.get(name))) for name in ("max_points_per_day", "max_points")]
    binding = [(name, cap) for name, cap in limits if cap is not None and abs(cap) < abs(points)]
    if binding:
        lowest = min(abs(cap) for _, cap in binding)
        named = " and ".join(f"{name} {cap}" for name, cap in binding)
        out.append(Finding(
            rule_id, "cap_below_points", ERROR,
            f"points {points} but {named}: a hit earns at most {lowest if points > 0 else -lowest}, so points "
            f"beyond {lowest if points > 0 else -lowest} change no score; change the caps together with the points",
        ))  # fmt: skip
    for name, cap in limits:
        if cap is not None and points and (cap > 0) != (points > 0) and cap != 0:
            out.append(Finding(
                rule_id, "cap_sign", ERROR,
                f"points {points} but {name} {cap}: a cap has the points' sign (for negative points it is a floor)",
            ))  # fmt: skip
    return out


def never_fires(row: dict, lookups: Lookups) -> list[Finding]:
    """Conditions no person can meet: the rule would never award its points."""
    rule_id, signal = row["rule_id"], row.get("signal", "")
    out: list[Finding] = []

    def never(message: str) -> None:
        out.append(Finding(rule_id, "never_fires", ERROR, message))

    if signal not in SIGNALS:
        never(f"signal {signal!r} is not one of {', '.join(SIGNALS)}")
        return out
    min_count, window = _int(row.get("min_count")), _int(row.get("window_days"))
    if min_count is not None and min_count < 1:
        never(f"min_count {min_count}: must be at least 1")
    if window is not None and window <= 0:
        never(f"window_days {window}: no event is in a window of {window} days")
    if signal == "event":
        event_type, form_type = row.get("event_type", ""), row.get("form_type", "")
        page, seconds = row.get("page_pattern", ""), _int(row.get("min_engagement_seconds"))
        if not event_type:
            never("an event rule needs an event_type")
        elif event_type in FUTURE_EVENT_TYPES:
            out.append(Finding(rule_id, "never_fires", WARNING if not _enabled(row) else ERROR,
                               f"event_type {event_type!r}: no source emits it yet"))  # fmt: skip
        elif event_type not in EVENT_TYPES:
            never(f"event_type {event_type!r} is not an event the warehouse has (one of {', '.join(EVENT_TYPES)})")
        if form_type and event_type and event_type not in FORM_EVENT_TYPES:
            never(f"form_type {form_type!r} with event_type {event_type!r}: only form_submitted events have a "
                  "form type")  # fmt: skip
        if form_type and form_type not in lookups.form_types:
            never(f"form_type {form_type!r}: no form is classified as that (form_types.csv has "
                  f"{', '.join(sorted(lookups.form_types))})")  # fmt: skip
        if page and event_type and event_type not in PAGE_EVENT_TYPES:
            never(f"page_pattern {page!r} with event_type {event_type!r}: only page views have a page path")
        if page and not page.startswith(("/", "%", "_")):
            never(f"page_pattern {page!r}: a page path starts with '/' (e.g. /pricing%)")
        elif page and "%" not in page and "_" not in page:
            out.append(Finding(rule_id, "exact_page", WARNING,
                               f"page_pattern {page!r} has no %: it matches that exact path only"))  # fmt: skip
        if seconds is not None and event_type and event_type not in PAGE_EVENT_TYPES:
            never(f"min_engagement_seconds with event_type {event_type!r}: only page views have an engagement time")
    elif signal in TYPED_SIGNALS:
        kinds, names, has_none = TYPED_SIGNALS[signal]
        event_type = row.get("event_type", "")
        if event_type not in kinds:
            never(f"event_type {event_type!r}: a {signal} rule names {names}")
        for column in ("form_type", "page_pattern", "min_engagement_seconds"):
            if row.get(column):
                never(f"{column} with signal {signal}: {has_none}")
    elif signal == "session":
        # a web session of at least min_count page views (its depth), within window_days (its recency)
        for column in ("event_type", "form_type", "page_pattern", "min_engagement_seconds"):
            if row.get(column):
                never(f"{column} with signal session: a session rule reads only min_count (page views in "
                      "one session) and window_days")  # fmt: skip
    elif signal in ("opportunity_stage", "opportunity_stalled"):
        # the opportunities as the CRM knew them at the point (macros/scoring_opportunities.sql)
        stage = row.get("event_type", "")
        if signal == "opportunity_stage" and stage.strip().lower() not in lookups.stages:
            never(f"event_type {stage!r}: an opportunity_stage rule names a stage of var opportunity_stages "
                  f"({', '.join(lookups.stages)})")  # fmt: skip
        if signal == "opportunity_stalled" and stage:
            never("event_type with signal opportunity_stalled: a stalled rule reads only window_days")
        if signal == "opportunity_stalled" and window is None:
            never("an opportunity_stalled rule needs window_days (the days without a stage change)")
        for column in ("form_type", "page_pattern", "min_engagement_seconds"):
            if row.get(column):
                never(f"{column} with signal {signal}: opportunities have none")
    elif signal == "title":
        group = row.get("keyword_group", "")
        if group not in lookups.keyword_groups:
            never(f"keyword_group {group!r} is not in title_keywords.csv ({', '.join(sorted(lookups.keyword_groups))})")
    elif signal == "company_size":
        if _int(row.get("min_company_size")) is None:
            never("a company_size rule needs min_company_size")
    elif signal == "silence":
        if window is None:
            never("a silence rule needs window_days (the days without interaction)")
    if signal in ("event", "email_delivery") and (min_count or 1) > 1 and window is None:
        out.append(Finding(rule_id, "no_window", WARNING,
                           f"min_count {min_count} without window_days: counts events of all time"))  # fmt: skip
    decay = row.get("decay") or "none"
    if decay not in DECAYS:
        never(f"decay {decay!r} is not one of {', '.join(DECAYS)}")
    elif decay != "none" and not _float(row.get("decay_days")):
        never(f"decay {decay} needs decay_days")
    return out


def other_checks(row: dict, lookups: Lookups) -> list[Finding]:
    rule_id, out = row["rule_id"], []
    leak = leaks_outcome(row, lookups.stages, lookups.conversion) if lookups.conversion else None
    if leak:
        # disabled it awards nothing, and the calibration never gives it points (scoring_calibration)
        out.append(Finding(rule_id, "leaks_outcome", ERROR if _enabled(row) else WARNING, leak))
    points = _int(row.get("points"))
    if points == 0:
        out.append(Finding(rule_id, "no_points", WARNING, "points 0: the rule awards nothing"))
    group = row.get("cap_group", "")
    if group and group not in lookups.cap_groups:
        out.append(Finding(rule_id, "unknown_cap_group", WARNING,
                           f"cap_group {group!r} is not in scoring_cap_groups.csv: no group cap applies"))  # fmt: skip
    elif group and points and lookups.cap_groups[group] < abs(points):
        allowed = lookups.cap_groups[group]
        out.append(Finding(rule_id, "cap_group_below_points", WARNING,
                           f"points {points} but cap group {group!r} allows {allowed} together"))  # fmt: skip
    return out


def overlaps(rows: Sequence[dict], lookups: Lookups) -> list[Finding]:
    """Enabled rules one person's same event, title, industry or size fires together (both award);
    a count tier and its own rule, or two tiers of one rule, overlap on purpose (docs/scoring.md
    "Count tiers") and are not reported."""
    enabled = [row for row in rows if _enabled(row)]
    out = []
    for index, a in enumerate(enabled):
        for b in enabled[index + 1 :]:
            if a.get("signal") != b.get("signal") or _tiers_of_one_rule(a, b):
                continue
            why = _overlap_reason(a, b, lookups)
            if why:
                out.append(Finding(
                    a["rule_id"], "overlap", WARNING,
                    f"overlaps {b['rule_id']}: {why}; both award points ({a.get('points')} and {b.get('points')})",
                    other_rule_id=b["rule_id"],
                ))  # fmt: skip
    return out


def _tiers_of_one_rule(a: dict, b: dict) -> bool:
    """True when ``a`` and ``b`` count one rule's hits: a count tier (rule_set count_tier, id
    ``<rule>_<k>plus``) and its rule, or two tiers of the same rule."""
    from intent_pipeline.scoring_calibration import TIER_SET, tier_base

    def counted(row: dict) -> str:
        tier = tier_base(str(row.get("rule_id") or "")) if row.get("rule_set") == TIER_SET else None
        return tier[0] if tier else str(row.get("rule_id") or "")

    return counted(a) == counted(b)


def _overlap_reason(a: dict, b: dict, lookups: Lookups) -> str | None:
    signal = a.get("signal")
    if signal == "event":
        if a.get("event_type") != b.get("event_type"):
            return None
        forms = (a.get("form_type"), b.get("form_type"))
        if all(forms) and forms[0] != forms[1]:
            return None
        if not _like_overlap(a.get("page_pattern"), b.get("page_pattern")):
            return None
        what = a.get("form_type") or b.get("form_type") or a.get("page_pattern") or b.get("page_pattern") or ""
        return f"one {a.get('event_type')} event {what}".rstrip() + " counts for both"
    if signal == "sales_activity":
        kinds = [str(r.get("event_type", "")) for r in (a, b)]
        if kinds[0] == kinds[1] or any(k in SALES_ACTIVITY_TYPES and other.startswith(f"{k}_")
                                       for k, other in (kinds, kinds[::-1])):  # fmt: skip
            return f"one {kinds[0].split('_')[0]} activity counts for both"
        return None
    if signal == "session":
        return "a session deep and recent enough for both counts for both"
    if signal == "email_delivery":
        if a.get("event_type") != b.get("event_type"):
            return None
        return f"one {a.get('event_type')} message counts for both"
    if signal == "title":
        shared = lookups.keywords.get(a.get("keyword_group", ""), frozenset()) & lookups.keywords.get(
            b.get("keyword_group", ""), frozenset()
        )
        if shared:
            return f"a title with {', '.join(sorted(shared)[:3])} matches both keyword groups"
        return None
    if signal == "industry":
        return "both match the industries of icp_industries.csv"
    if signal == "company_size":
        return "a company at least as big as both minimums matches both"
    if signal == "silence":
        return "a long enough silence matches both"
    if signal == "opportunity_stage":
        return "an open opportunity at the later of both stages counts for both"
    if signal == "opportunity_stalled":
        return "an opportunity stalled long enough for both counts for both"
    return None


def check_table(rows: Sequence[dict], lookups: Lookups) -> list[Finding]:
    """Every finding on the table itself, errors first, then by rule."""
    findings: list[Finding] = []
    counts = Counter(row.get("rule_id") for row in rows)
    for rule_id, count in sorted(counts.items(), key=lambda kv: str(kv[0])):
        if count > 1 or not rule_id:
            findings.append(Finding(str(rule_id or ""), "duplicate_rule_id", ERROR,
                                    f"rule_id {rule_id!r} is on {count} rows: each rule needs its own id"))  # fmt: skip
    for row in rows:
        findings += caps(row) + never_fires(row, lookups) + other_checks(row, lookups)
    findings += overlaps(rows, lookups)
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.rule_id, f.kind))


# --- the effect on the warehouse ----------------------------------------------------------------


COMPARED = ("is_enabled", "points", "max_points_per_day", "max_points", "event_type", "form_type", "page_pattern",
            "min_engagement_seconds", "min_count", "window_days", "keyword_group", "min_company_size", "cap_group",
            "decay", "decay_days", "decay_grace_days", "signal")  # fmt: skip


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return text.lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def rule_changes(built: Iterable[dict], edited: Iterable[dict]) -> dict[str, dict[str, tuple[str, str]]]:
    """Per rule id, the columns whose value differs between the built table and the edited one
    (``{"trial_request": {"points": ("30", "40")}}``); a new rule has ``("", value)``, a removed one
    ``(value, "")`` for every column it had."""
    before = {row["rule_id"]: row for row in built}
    after = {row["rule_id"]: row for row in edited}
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for rule_id in sorted(set(before) | set(after)):
        old, new = before.get(rule_id, {}), after.get(rule_id, {})
        diff = {c: (_norm(old.get(c)), _norm(new.get(c))) for c in COMPARED if _norm(old.get(c)) != _norm(new.get(c))}
        if diff:
            out[rule_id] = diff
    return out


def _rebuild_copy(warehouse: Path, rules_path: Path, work: Path, interval_end: datetime, vars_: dict | None) -> Path:
    """A copy of ``warehouse`` with ``rules_path`` as its ``staging.scoring_rules`` and the models
    between that seed and ``marts.segment_high_intent`` rebuilt by dbt (``dbt run``).

    dbt runs as the DAG runs it (:func:`intent_pipeline.pipeline.run_dbt`: the copy under the
    warehouse's own file name, the scoring model in the environment) and starts from the saved
    parse of scratch runs (``pipeline.scratch_parse_cache``), so only the first check of an installation parses the
    whole project. Vars other than ``scoring_model`` go on the command line (a full parse)."""
    from intent_pipeline import pipeline
    from intent_pipeline.settings import Settings

    copy = work / warehouse.name
    shutil.copyfile(warehouse, copy)
    load_rules(copy, rules_path)
    interval_start = interval_end - timedelta(days=1)
    settings = Settings.from_env()
    # the lake's sources are parsed, not read: the models rebuilt start after staging
    scratch = settings.model_copy(update={"warehouse": copy})
    variables = dict(vars_ or {})
    extra_env = {"INTENT_SCORING_MODEL": pipeline.scoring_model_env(variables)}
    variables.pop("scoring_model", None)
    # the copy's scores are read, never dbt's artifacts (manifest.json twice a run: ~1.5 CPU-s)
    args = ["run", "--select", "scoring_rules+,+segment_high_intent", "--no-write-json"]
    if variables:
        args += ["--vars", json.dumps(variables)]
    done = pipeline.run_dbt(
        scratch, *args, interval=(interval_start, interval_end), target=work / "target",
        parse_cache=pipeline.scratch_parse_cache(settings), extra_env=extra_env,
    )  # fmt: skip
    if done.returncode != 0:
        raise RulesCheckError(f"dbt could not rebuild the scores with the edited rules:\n{done.stdout[-4000:]}")
    return copy


def load_rules(warehouse: Path, rules_path: Path) -> None:
    """Replace ``staging.scoring_rules`` in ``warehouse`` (a copy: this writes) with the table at
    ``rules_path``, each column cast to the type the seed's build gave it (as ``dbt seed`` would)."""
    import duckdb

    # alike in shape only to privacy.consent's reads (connect, query, close): this writes a copy
    con = duckdb.connect(str(warehouse))
    try:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'staging' and table_name = 'scoring_rules' order by ordinal_position"
        ).fetchall()
        selected = ", ".join(f"cast(nullif(trim(\"{c}\"), '') as {t}) as \"{c}\"" for c, t in columns)
        con.execute("delete from staging.scoring_rules")
        con.execute(
            f"insert into staging.scoring_rules select {selected}"
            " from read_csv(?, header = true, all_varchar = true)",
            [str(rules_path)],
        )
    finally:
        con.close()


class RulesCheckError(RuntimeError):
    """The effect cannot be measured (no warehouse, a warehouse without scores, dbt failed)."""


def built_rules(warehouse: Path) -> list[dict]:
    """The rules the warehouse was last built with (its ``staging.scoring_rules``)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = con.execute("select * from staging.scoring_rules")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _snapshot(path: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        scored = con.execute("select person_id, lead_score, grade from marts.lead_scores").fetchall()
        scores = {p: (s, g) for p, s, g in scored}
        rule_points = {
            (p, r): float(v or 0)
            for p, r, v in con.execute(
                "select person_id, rule_id, points_awarded from intermediate.int_lead_score_rules"
                " where score_point = 'current'"
            ).fetchall()
        }
        segment = con.execute("select count(*) from marts.segment_high_intent").fetchone()
        end = con.execute("select max(scored_at) from marts.lead_scores").fetchone()
    finally:
        con.close()
    return {"scores": scores, "rule_points": rule_points, "segment": segment[0] if segment else 0,
            "interval_end": end[0] if end else None}  # fmt: skip


def measure_effect(
    warehouse: Path,
    rules_path: Path,
    rows: Sequence[dict],
    findings: Sequence[Finding],
    vars_: dict | None = None,
) -> tuple[dict[str, Any], list[Finding]]:
    """The edit's effect on ``warehouse`` (which is only read): scores and grades that change, the
    segment's size before and after, per changed rule the people whose points of it change; and a
    ``no_effect`` finding for each rule whose points were edited and whose points change for nobody."""
    if not warehouse.exists():
        raise RulesCheckError(f"no warehouse at {warehouse}: run the pipeline once, or use --no-effect")
    try:
        before = _snapshot(warehouse)
        built = built_rules(warehouse)
    except Exception as error:  # duckdb.CatalogException and friends: a warehouse without scores
        raise RulesCheckError(f"{warehouse} has no scores to compare with ({error}): run the pipeline first") from error
    changes = rule_changes(built, rows)
    effect: dict[str, Any] = {
        "warehouse": str(warehouse),
        "changed_rules": {r: {c: {"built": a, "edited": b} for c, (a, b) in d.items()} for r, d in changes.items()},
        "people": len(before["scores"]),
        "segment_before": before["segment"],
    }
    if not changes:
        effect.update(scores_changed=0, grades_changed=0, grade_moves={}, segment_after=before["segment"],
                      rules={})  # fmt: skip
        return effect, []
    if before["interval_end"] is None:
        raise RulesCheckError(f"{warehouse} has no scores (marts.lead_scores is empty)")
    with tempfile.TemporaryDirectory(prefix="rules-check-") as work:
        after = _snapshot(_rebuild_copy(warehouse, rules_path, Path(work), before["interval_end"], vars_))
    moved: Counter[str] = Counter()
    scores_changed = 0
    for person, (score, grade) in after["scores"].items():
        old = before["scores"].get(person)
        if old is None:
            continue
        scores_changed += old[0] != score
        if old[1] != grade:
            moved[f"{old[1]} -> {grade}"] += 1
    per_rule: dict[str, dict[str, Any]] = {}
    new_findings: list[Finding] = []
    by_id = {row["rule_id"]: row for row in rows}
    for rule_id, diff in changes.items():
        keys = {k for k in (*before["rule_points"], *after["rule_points"]) if k[1] == rule_id}
        hit = sum(1 for k in keys if before["rule_points"].get(k) != after["rule_points"].get(k))
        holders = sum(1 for k in keys if after["rule_points"].get(k) or before["rule_points"].get(k))
        per_rule[rule_id] = {"people_whose_points_change": hit, "people_with_the_rule": holders}
        if "points" in diff and hit == 0:
            new_findings.append(Finding(rule_id, "no_effect", ERROR if rule_id in by_id else INFO,
                                        _why_no_effect(rule_id, by_id.get(rule_id), findings, len(keys))))  # fmt: skip
    effect.update(
        scores_changed=scores_changed,
        grades_changed=sum(moved.values()),
        grade_moves=dict(sorted(moved.items())),
        segment_after=after["segment"],
        rules=per_rule,
    )
    return effect, new_findings


def _why_no_effect(rule_id: str, row: dict | None, findings: Sequence[Finding], fired: int) -> str:
    """Why an edit of a rule's points changes no one's points."""
    if row is None:
        return "the rule was removed"
    mine = [f for f in findings if f.rule_id == rule_id and f.kind in ("cap_below_points", "never_fires")]
    if mine:
        return f"points edited, no one's points change: {mine[0].message}"
    if not _enabled(row):
        return "points edited, no one's points change: the rule is disabled (is_enabled false)"
    if not fired:
        return "points edited, no one's points change: the rule fires for no one in this warehouse"
    return "points edited, no one's points change (a cap group or the decay may hold it)"


# --- the command --------------------------------------------------------------------------------


def check(
    rules_path: Path = RULES_CSV,
    warehouse: Path | None = None,
    seeds: Path = SEEDS,
    vars_: dict | None = None,
    conversion: Conversion | None = None,
) -> Report:
    """The table checks of ``rules_path``, and its effect on ``warehouse`` when one is given.
    ``conversion``: what converts (default :meth:`Conversion.configured`), which no opportunity rule may read."""
    rows = read_csv(rules_path)
    lookups = Lookups.from_seeds(seeds, conversion)
    findings = check_table(rows, lookups)
    report = Report(str(rules_path), len(rows), sum(1 for r in rows if _enabled(r)), findings)
    if warehouse is not None:
        report.effect, more = measure_effect(warehouse, rules_path, rows, findings, vars_)
        report.findings = sorted([*findings, *more], key=lambda f: (SEVERITY_ORDER[f.severity], f.rule_id, f.kind))
    return report


def format_report(report: Report) -> str:
    lines = [f"rules check: {report.rules_path} ({report.rules} rules, {report.enabled} enabled)"]
    if not report.findings:
        lines.append("no findings: every rule can fire and every points value takes effect")
    for f in report.findings:
        lines.append(f"  {f.severity:<7} {f.rule_id}: {f.kind}: {f.message}")
    effect = report.effect
    if effect is not None:
        lines.append(f"effect on {effect['warehouse']}:")
        if not effect["changed_rules"]:
            lines.append("  the table is the one the warehouse was built with: nothing changes")
        else:
            for rule_id, diff in effect["changed_rules"].items():
                edits = ", ".join(f"{c} {v['built'] or '∅'} -> {v['edited'] or '∅'}" for c, v in diff.items())
                n = effect["rules"].get(rule_id, {})
                lines.append(f"  {rule_id}: {edits} (points change for {n.get('people_whose_points_change', 0)} "
                             f"of {n.get('people_with_the_rule', 0)} people with the rule)")  # fmt: skip
            lines.append(f"  scores that change: {effect['scores_changed']} of {effect['people']}")
            moves = ", ".join(f"{k} {v}" for k, v in effect["grade_moves"].items()) or "none"
            lines.append(f"  grades that change: {effect['grades_changed']} ({moves})")
            lines.append(f"  high-intent segment: {effect['segment_before']} -> {effect['segment_after']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m intent_pipeline rules check", description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=Path, default=RULES_CSV, help="the rules table (default: the project's seed)")
    parser.add_argument("--warehouse", type=Path, help="the built warehouse (default: INTENT_WAREHOUSE)")
    parser.add_argument("--no-effect", action="store_true", help="check the table only, not its effect")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--conversion-event", help="what converts, as the dbt var conversion_event (default: "
                        "INTENT_CONVERSION_EVENT, else opportunity_created)")  # fmt: skip
    parser.add_argument("--conversion-stage", help="with stage_reached: the var conversion_stage (default: "
                        "dbt_project.yml's)")  # fmt: skip
    args = parser.parse_args(argv)
    configured = Conversion.configured()
    conversion = Conversion(args.conversion_event or configured.event, args.conversion_stage or configured.stage)
    warehouse, vars_ = None, None
    if not args.no_effect:
        from intent_pipeline.pipeline import model_vars
        from intent_pipeline.settings import Settings

        settings = Settings.from_env()
        warehouse = args.warehouse or settings.warehouse
        vars_ = model_vars(settings)
    try:
        report = check(args.rules, warehouse, vars_=vars_, conversion=conversion)
    except (RulesCheckError, OSError) as error:
        print(f"rules check: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str) if args.json
          else format_report(report))  # fmt: skip
    return 1 if report.errors else 0
