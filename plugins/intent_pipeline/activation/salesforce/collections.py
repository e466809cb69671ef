"""Salesforce sObject Collections: a segment row as a Lead's fields, and the upsert of up to 200 Leads
in one call, read back record by record. See docs/salesforce.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from intent_pipeline.activation.escape import csv_safe
from intent_pipeline.activation.http import GaveUp, rejected_or_bisected
from intent_pipeline.activation.hubspot import split_name
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED, deferred
from intent_pipeline.activation.salesforce.auth import SalesforceApi, _error
from intent_pipeline.activation.salesforce.config import FIELD_LENGTHS, MISSING, TRANSIENT_RECORD_CODES
from intent_pipeline.activation.segments import Planned

if TYPE_CHECKING:
    import requests


def _cut(field: str, value: str) -> str:
    limit = FIELD_LENGTHS.get(field)
    return value[:limit] if limit else value


def lead_fields(row: dict, reasons_language: str = "en") -> dict[str, str | int]:
    """The Lead fields of one segment row (see docs/salesforce.md), without the external id; the
    reasons in ``reasons_language`` (``zh``: ``score_reasons_zh``, English when the row has none)."""
    first, last = split_name(row.get("full_name"))
    reasons = (row.get("score_reasons_zh") if reasons_language == "zh" else None) or row.get("score_reasons")
    if last is None:  # one word: Salesforce's required field is LastName
        first, last = None, first
    fields = {
        "FirstName": first,
        "LastName": last,
        "Company": row.get("company"),
        "Email": (row.get("email") or "").strip().lower() or None,
        "Phone": row.get("phone"),
        "Title": row.get("job_title"),
        "Industry": row.get("industry"),
        "Intent_Grade__c": row.get("grade"),
        "Intent_Reasons__c": reasons,
    }
    out: dict[str, str | int] = {
        # a form's value never runs as a formula in a spreadsheet export of the CRM (escape.csv_safe)
        k: _cut(k, str(v).strip() if k == "Email" else csv_safe(str(v).strip()))
        for k, v in fields.items()
        if v is not None and str(v).strip() != ""
    }
    out.setdefault("LastName", MISSING)
    out.setdefault("Company", MISSING)
    if row.get("lead_score") is not None:
        out["Intent_Score__c"] = int(row["lead_score"])  # a Number field: sent as a JSON number
    return out


class SalesforceCollections(SalesforceApi):
    """Upserts with sObject Collections (``PATCH …/composite/sobjects/{sobject}/{external_id_field}``)."""

    def _body(self, items: list[Planned]) -> dict:
        records = [{"attributes": {"type": self.sobject}, self.external_id_field: it.key, **it.fields} for it in items]
        return {"allOrNone": False, "records": records}

    def _upsert(self, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        path = f"composite/sobjects/{self.sobject}/{self.external_id_field}"
        response = self._request("PATCH", path, json=self._body(items))
        if isinstance(response, GaveUp):
            return deferred(items, response.reason)
        self._refuse(response)
        status = response.status_code
        code, message = _error(response)
        if status == 200:
            return self._results(response, items)
        if status in (400, 413):
            return rejected_or_bisected(items, f"HTTP {status} {code}: {message}", self._upsert)
        return deferred(items, f"unexpected HTTP {status} {code}: {message}")

    def _results(self, response: requests.Response, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        """One ``UpsertResult`` per record, in request order (documented), mapped to outcomes."""
        try:
            results = response.json()
        except ValueError:
            results = None
        if not isinstance(results, list) or len(results) != len(items):
            # Results we cannot match to records: resend the batch next run (an upsert is idempotent).
            reason = f"HTTP 200 with {type(results).__name__} results for {len(items)} records: {response.text[:300]}"
            return deferred(items, reason)
        outcomes: dict[str, tuple[str, str | None]] = {}
        for item, result in zip(items, results, strict=True):
            result = result if isinstance(result, dict) else {}
            if result.get("success") is True:
                outcomes[item.key] = (ACKNOWLEDGED, None)
                if result.get("created"):
                    self.created += 1
                else:
                    self.updated += 1
                continue
            errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
            text = "; ".join(_describe(e) for e in errors) or f"success is not true: {str(result)[:300]}"
            transient = errors and all(e.get("statusCode") in TRANSIENT_RECORD_CODES for e in errors)
            outcomes[item.key] = (DEFERRED if transient else REJECTED, text)
        return outcomes


def _describe(error: dict) -> str:
    """``statusCode: message [fields]`` of one per-record error."""
    text = f"{error.get('statusCode', 'ERROR')}: {error.get('message', '')}".strip()
    fields = error.get("fields") or []
    return f"{text} (fields: {', '.join(map(str, fields))})" if fields else text
