"""Why two identifiers are, or are not, one person: ``python -m intent_pipeline explain-identity A B``.

Reads the warehouse read-only (the identity models of ``dbt_project/models/intermediate/identity``)
and explains, in words a data steward can act on (docs/identity-decisions.md):

* one person: the chain of links that joins them, shortest first, every link with its rule
  (``same_record`` with the records that hold both, ``probabilistic`` with the matched records, the
  match probability and weight and every comparison level the matcher wrote, ``must_link`` with
  the decision, its author and reason);
* two people: what keeps them apart: a steward's decision (cannot_link, with the links it cut, or
  a detach), and the chain that would join them without the guards, with each step a guard cut
  (blocklist, hub limit) and its reason;
* not connected at all: no record, match or decision joins them, even before the guards.

The comparison levels are read generically (every column of ``int_identity_match_pairs`` other
than the record ids, the weight and the probability), so a change of the matcher's comparisons
needs no change here; when the seed ``identity_match_comparisons`` has a ``comparison, level``
row for a ``gamma_<comparison>`` value, its label and Bayes factor (log2 m/u) are shown too.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NODE_TYPES = ("email", "phone", "web", "ga4_user", "crm_lead", "form")
# Types a bare value without a prefix may be (emails and phones are recognised by their shape).
BARE_TYPES = ("web", "ga4_user", "crm_lead", "form")
MAX_HOPS = 12
MAX_FRONTIER = 20_000
RECORDS_SHOWN = 3

I = "intermediate"  # noqa: E741 - the schema every identity model lives in


class ExplainError(ValueError):
    """The input cannot be explained (not an identifier, not in the warehouse, no identity models)."""


def normalise_identifier(text: str) -> list[str]:
    """The graph node(s) ``text`` may stand for, keyed the way the warehouse keys them.

    ``type:value`` with a known type and an email address give one node; anything else is a bare
    value: the phone it is when it parses as one (any format the extract accepts; China is the
    default region) and the browser, login, CRM and form ids it may be, in that order.
    """
    from intent_pipeline.identity import mailbox
    from intent_pipeline.sources.normalize import BadValue, PhoneNormalizer

    raw = text.strip()
    if not raw:
        raise ExplainError("an identifier is empty")
    prefix, sep, rest = raw.partition(":")
    kind = prefix.strip().lower() if sep else ""
    if kind not in NODE_TYPES:
        kind, rest = ("email", raw) if "@" in raw else ("", raw)
    value = rest.strip()
    if kind == "email":
        try:
            key = mailbox(value)
        except BadValue as error:
            raise ExplainError(f"{text!r}: {error}") from None
        if key is None:
            raise ExplainError(f"{text!r}: no email address")
        return [f"email:{key}"]
    if kind == "phone":
        e164 = PhoneNormalizer()(value)
        if e164 is None:
            raise ExplainError(f"{text!r}: not a phone number (E.164, or a number of the default region CN)")
        return [f"phone:{e164}"]
    if kind:
        if not value:
            raise ExplainError(f"{text!r}: no value after {kind}:")
        return [f"{kind}:{value}"]
    candidates = []
    if re.fullmatch(r"\+?[\d\s().-]{6,}", raw):
        e164 = PhoneNormalizer()(raw)
        if e164 is not None:
            candidates.append(f"phone:{e164}")
    return candidates + [f"{bare}:{raw}" for bare in BARE_TYPES]


@dataclass
class Explanation:
    """What ``explain`` found; ``lines`` is the text it prints."""

    node_a: str
    node_b: str
    verdict: str  # one_person, kept_apart, not_connected, unknown
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class _Warehouse:
    """Read-only queries on the identity models."""

    def __init__(self, path: Path):
        import duckdb

        if not Path(path).exists():
            raise ExplainError(f"no warehouse at {path}")
        self.con = duckdb.connect(str(path), read_only=True)
        tables = {
            row[0] for row in self.rows(f"select table_name from information_schema.tables where table_schema = '{I}'")
        }
        needed = {"int_people_resolved", "int_identity_links_decided", "int_identity_record_identifiers"}
        if not needed <= tables:
            raise ExplainError(
                f"{path} has no identity models ({', '.join(sorted(needed - tables))} missing): run dbt build first"
            )
        self.tables = tables

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def dicts(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, list(params))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.con.close()


def explain(warehouse: Path, text_a: str, text_b: str) -> Explanation:
    """Explain whether the identifiers ``text_a`` and ``text_b`` are one person in ``warehouse``."""
    db = _Warehouse(warehouse)
    try:
        return _explain(db, text_a, text_b)
    finally:
        db.close()


def _pick(db: _Warehouse, text: str) -> str:
    """The one node ``text`` stands for; a bare value is looked up among its candidates."""
    candidates = normalise_identifier(text)
    if len(candidates) == 1:
        return candidates[0]
    present = [
        row[0]
        for row in db.rows(
            f"select node_key from {I}.int_people_resolved where list_contains(?, node_key)"
            " union"
            f" select node_key from {I}.int_identity_record_identifiers where list_contains(?, node_key)",
            candidates,
            candidates,
        )
    ]
    found = [node for node in candidates if node in present]
    if len(found) == 1:
        return found[0]
    if found:
        raise ExplainError(f"{text!r} is ambiguous: {', '.join(found)}; give it as <type>:<value>")
    raise ExplainError(f"{text!r} is in the warehouse as none of {', '.join(candidates)}; give it as <type>:<value>")


def _explain(db: _Warehouse, text_a: str, text_b: str) -> Explanation:
    node_a, node_b = _pick(db, text_a), _pick(db, text_b)
    result = Explanation(node_a, node_b, "unknown")
    out = result.lines
    people = dict(
        db.rows(f"select node_key, person_id from {I}.int_people_resolved where node_key in (?, ?)", node_a, node_b)
    )
    for node in (node_a, node_b):
        where = f"person {people[node]}" if node in people else "not in any person"
        out.append(f"{node}: {where}")
        if node not in people:
            for cut_rule, reason, records in db.rows(
                f"select cut_rule, reason, count(*) from {I}.int_identity_links_cut where node_key = ?"
                " group by 1, 2 order by 1, 2",
                node,
            ):
                out.append(f"  cut from {records} record(s) ({cut_rule}): {reason}")
    if "int_identity_decisions_applied" in db.tables:
        for decision_id, kind, status, detail in db.rows(
            f"select decision_id, decision_kind, status, status_detail from {I}.int_identity_decisions_applied"
            " where status <> 'applied' and (node_a in (?, ?) or node_b in (?, ?)) order by decision_id",
            node_a,
            node_b,
            node_a,
            node_b,
        ):
            out.append(f"decision {decision_id} ({kind}) is {status}: {detail}")
    if node_a == node_b:
        out.append("the two identifiers are the same node")
        result.verdict = "one_person" if node_a in people else "unknown"
        return result
    missing = [node for node in (node_a, node_b) if node not in people and not _seen(db, node)]
    if missing:
        out.append("")
        for node in missing:
            out.append(f"{node} is not in the warehouse (no record holds it)")
        return result
    if node_a in people and people.get(node_a) == people.get(node_b):
        result.verdict = "one_person"
        path = _shortest_path(db, node_a, node_b)
        out.append("")
        out.append(f"one person, joined by a chain of {len(path) - 1} link(s):")
        for left, right in zip(path, path[1:], strict=False):
            out.extend(_describe_links(db, left, right))
        return result
    result.verdict = "kept_apart"
    out.append("")
    found = _decisions_apart(db, node_a, node_b, people)
    chain = _unguarded_path(db, node_a, node_b)
    if chain is None and not found:
        result.verdict = "not_connected"
        out.append("not connected at all: no record, match or decision joins them, even before the guards")
        return result
    out.append("two people, kept apart by:")
    out.extend(found)
    if chain is not None:
        steps, blocks = _describe_unguarded(db, chain)
        out.extend(blocks)
        out.append("")
        out.append(f"the chain that would join them without the guards and decisions ({len(chain) // 2} step(s)):")
        out.extend(steps)
    return result


def _seen(db: _Warehouse, node: str) -> bool:
    return bool(db.rows(f"select 1 from {I}.int_identity_record_identifiers where node_key = ? limit 1", node))


def _bfs(start: str, goal: str, neighbours) -> list[str] | None:
    """Shortest path from start to goal (a list of nodes), expanding one level at a time."""
    parent: dict[str, str | None] = {start: None}
    frontier = [start]
    for _ in range(MAX_HOPS * 2):
        if not frontier or len(parent) > MAX_FRONTIER:
            return None
        following: list[str] = []
        for node, neighbour in neighbours(frontier):
            if neighbour not in parent:
                parent[neighbour] = node
                following.append(neighbour)
                if neighbour == goal:
                    path: deque[str] = deque()
                    step: str | None = goal
                    while step is not None:
                        path.appendleft(step)
                        step = parent[step]
                    return list(path)
        frontier = sorted(set(following))
    return None


def _shortest_path(db: _Warehouse, node_a: str, node_b: str) -> list[str]:
    def neighbours(frontier: list[str]) -> list[tuple[str, str]]:
        return db.rows(
            f"select node_a, node_b from {I}.int_identity_links_decided"
            " where list_contains(?, node_a) and node_a <> node_b"
            f" union select node_b, node_a from {I}.int_identity_links_decided"
            " where list_contains(?, node_b) and node_a <> node_b"
            " order by 1, 2",
            frontier,
            frontier,
        )

    path = _bfs(node_a, node_b, neighbours)
    if path is None:
        raise ExplainError(f"{node_a} and {node_b} share a person but no chain of at most {MAX_HOPS} links was found")
    return path


def _describe_links(db: _Warehouse, left: str, right: str) -> list[str]:
    """Every link of the graph between two neighbouring nodes of a chain."""
    lines = [f"  {left}  --  {right}"]
    links = db.dicts(
        f"select link_rule, confidence, sources from {I}.int_identity_links_decided"
        " where (node_a = ? and node_b = ?) or (node_a = ? and node_b = ?) order by link_rule",
        left,
        right,
        right,
        left,
    )
    for link in links:
        rule = link["link_rule"]
        if rule == "same_record":
            records = db.rows(
                f"select record_source || ':' || record_key from {I}.int_identity_record_nodes"
                " where anchor_key in (?, ?) and node_key in (?, ?) and anchor_key <> node_key order by 1",
                left,
                right,
                left,
                right,
            )
            shown = ", ".join(row[0] for row in records[:RECORDS_SHOWN])
            more = f" and {len(records) - RECORDS_SHOWN} more" if len(records) > RECORDS_SHOWN else ""
            lines.append(f"    same_record: one record holds both ({link['sources']}): {shown}{more}")
        elif rule == "probabilistic":
            lines.append(f"    probabilistic match, probability {link['confidence']:.6f}:")
            lines.extend(_describe_matches(db, left, right))
        elif rule == "must_link":
            for decision in _decisions(db, "must_link", left, right):
                lines.append(f"    must_link: {_decision_text(decision)}")
        else:
            lines.append(f"    {rule} (confidence {link['confidence']})")
    return lines


def _decisions(db: _Warehouse, kind: str, left: str, right: str | None = None) -> list[dict[str, Any]]:
    if "int_identity_decisions" not in db.tables:
        return []
    if right is None:
        return db.dicts(
            f"select * from {I}.int_identity_decisions where decision_kind = ? and node_a = ? order by decision_id",
            kind,
            left,
        )
    return db.dicts(
        f"select * from {I}.int_identity_decisions where decision_kind = ?"
        " and ((node_a = ? and node_b = ?) or (node_a = ? and node_b = ?)) order by decision_id",
        kind,
        left,
        right,
        right,
        left,
    )


def _decision_text(decision: dict[str, Any]) -> str:
    return (
        f"decision {decision['decision_id']} by {decision['decided_by']} on {decision['decided_on']}: "
        f"{decision['decision_reason']}"
    )


def _level_labels(db: _Warehouse) -> dict[tuple[str, int], tuple[str, float | None]]:
    """(comparison, level) -> (label, log2 m/u) from the seed identity_match_comparisons, if it has them."""
    try:
        rows = db.dicts("select * from staging.identity_match_comparisons")
    except Exception:  # noqa: BLE001 - the seed's shape belongs to the matcher; without it, levels stay bare
        return {}
    labels: dict[tuple[str, int], tuple[str, float | None]] = {}
    for row in rows:
        if "comparison" not in row or "level" not in row:
            return {}
        weight = None
        m, u = row.get("m_probability"), row.get("u_probability")
        if m and u and m > 0 and u > 0:
            weight = math.log2(m / u)
        try:
            labels[(str(row["comparison"]), int(row["level"]))] = (str(row.get("label") or ""), weight)
        except (TypeError, ValueError):
            continue
    return labels


def _describe_matches(db: _Warehouse, left: str, right: str) -> list[str]:
    if "int_identity_match_pairs" not in db.tables or "int_identity_records" not in db.tables:
        return ["      (int_identity_match_pairs is not in the warehouse)"]
    pairs = db.dicts(
        f"select pairs.* from {I}.int_identity_match_pairs as pairs"
        f" inner join {I}.int_identity_records as l on l.record_id = pairs.record_id_l"
        f" inner join {I}.int_identity_records as r on r.record_id = pairs.record_id_r"
        " where (l.node_key = ? and r.node_key = ?) or (l.node_key = ? and r.node_key = ?)"
        " order by pairs.match_probability desc, pairs.record_id_l, pairs.record_id_r",
        left,
        right,
        right,
        left,
    )
    labels = _level_labels(db)
    lines = []
    for pair in pairs:
        head = f"      records {pair.get('record_id_l')} and {pair.get('record_id_r')}"
        if "match_weight" in pair and pair["match_weight"] is not None:
            head += f": match weight {pair['match_weight']:.2f} bits"
        if "match_probability" in pair and pair["match_probability"] is not None:
            head += f", match probability {pair['match_probability']:.6f}"
        lines.append(head)
        for name, value in pair.items():
            if name in ("record_id_l", "record_id_r", "match_weight", "match_probability"):
                continue
            detail = f"        {name} = {value}"
            if name.startswith("gamma_") and value is not None:
                comparison = name.removeprefix("gamma_")
                try:
                    level = int(value)
                except (TypeError, ValueError):
                    level = None
                if level is not None and level < 0:
                    detail += " (null on a side: no evidence, weight 0)"
                elif level is not None and (comparison, level) in labels:
                    label, weight = labels[(comparison, level)]
                    detail += f" ({label}" + (f", {weight:+.2f} bits" if weight is not None else "") + ")"
            lines.append(detail)
    return lines


def _decisions_apart(db: _Warehouse, node_a: str, node_b: str, people: dict[str, str]) -> list[str]:
    """The decisions that keep the two people apart: a detach of either, links cut by cannot_link."""
    lines = []
    for node in (node_a, node_b):
        for decision in _decisions(db, "detach", node):
            lines.append(f"  {node} is detached: {_decision_text(decision)}")
    if "int_identity_decision_cuts" in db.tables and node_a in people and node_b in people:
        cuts = db.dicts(
            f"select cuts.*, decisions.decided_on, decisions.node_a as decision_a, decisions.node_b as decision_b"
            f" from {I}.int_identity_decision_cuts as cuts"
            f" inner join {I}.int_identity_decisions as decisions on decisions.decision_id = cuts.decision_id"
            f" inner join {I}.int_people_resolved as pa on pa.node_key = cuts.node_a"
            f" inner join {I}.int_people_resolved as pb on pb.node_key = cuts.node_b"
            " where (pa.person_id = ? and pb.person_id = ?) or (pa.person_id = ? and pb.person_id = ?)"
            " order by cuts.decision_id, cuts.node_a, cuts.node_b",
            people[node_a],
            people[node_b],
            people[node_b],
            people[node_a],
        )
        seen: set[str] = set()
        for cut in cuts:
            if cut["decision_id"] not in seen:
                seen.add(cut["decision_id"])
                pair = f"{cut['decision_a']} / {cut['decision_b']}"
                lines.append(f"  cannot_link {pair}: {_decision_text(cut)}; it cut these links:")
            lines.append(
                f"    {cut['node_a']}  --  {cut['node_b']}  ({cut['link_rule']}, confidence {cut['confidence']})"
            )
    return lines


def _unguarded_path(db: _Warehouse, node_a: str, node_b: str) -> list[str] | None:
    """The shortest chain identifier - record - identifier ... between the two before any guard:
    every (record, identifier) link, probabilistic matches and must_link decisions."""

    def neighbours(frontier: list[str]) -> list[tuple[str, str]]:
        nodes = [key for key in frontier if not key.startswith("record|")]
        records = [key.removeprefix("record|") for key in frontier if key.startswith("record|")]
        found = db.rows(
            f"select node_key, 'record|' || record_source || ':' || record_key"
            f" from {I}.int_identity_record_identifiers where list_contains(?, node_key)"
            " union"
            f" select 'record|' || record_source || ':' || record_key, node_key"
            f" from {I}.int_identity_record_identifiers where list_contains(?, record_source || ':' || record_key)"
            " union"
            f" select node_a, node_b from {I}.int_identifiers_linked"
            " where link_rule in ('probabilistic', 'must_link') and list_contains(?, node_a)"
            " union"
            f" select node_b, node_a from {I}.int_identifiers_linked"
            " where link_rule in ('probabilistic', 'must_link') and list_contains(?, node_b)"
            " order by 1, 2",
            nodes,
            records,
            nodes,
            nodes,
        )
        return [(left, right) for left, right in found if left != right]

    return _bfs(node_a, node_b, neighbours)


def _describe_unguarded(db: _Warehouse, chain: list[str]) -> tuple[list[str], list[str]]:
    """Each step of an unguarded chain, marked where a guard or a decision cuts it; and the cuts."""
    steps: list[str] = []
    blocks: list[str] = []
    reported: set[str] = set()
    for position, key in enumerate(chain):
        if key.startswith("record|"):
            steps.append(f"    via record {key.removeprefix('record|')}")
            continue
        mark = ""
        neighbours = (chain[i] for i in (position - 1, position + 1) if 0 <= i < len(chain))
        for record in [n.removeprefix("record|") for n in neighbours if n.startswith("record|")]:
            source, _, record_key = record.partition(":")
            for cut_rule, reason in db.rows(
                f"select cut_rule, reason from {I}.int_identity_links_cut"
                " where record_source = ? and record_key = ? and node_key = ?",
                source,
                record_key,
                key,
            ):
                mark = f"   <- cut ({cut_rule}): {reason}"
                if key not in reported and cut_rule != "decision":  # a detach is reported with its decision
                    reported.add(key)
                    blocks.append(f"  {key} is cut ({cut_rule}): {reason}")
        steps.append(f"  {key}{mark}")
        following = chain[position + 1] if position + 1 < len(chain) else None
        if following is not None and not following.startswith("record|"):
            rules = db.rows(
                f"select link_rule from {I}.int_identifiers_linked"
                " where (node_a = ? and node_b = ?) or (node_a = ? and node_b = ?) order by 1",
                key,
                following,
                following,
                key,
            )
            cut = ""
            if "int_identity_decision_cuts" in db.tables and db.rows(
                f"select 1 from {I}.int_identity_decision_cuts"
                " where (node_a = ? and node_b = ?) or (node_a = ? and node_b = ?)",
                key,
                following,
                following,
                key,
            ):
                cut = "   <- cut by a cannot_link decision"
            steps.append(f"    {', '.join(rule for (rule,) in rules)} link{cut}")
    return steps, blocks
