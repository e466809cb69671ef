"""Salesforce Bulk API 2.0: the rows of a large run as CSV ingest jobs — created, filled, closed,
polled, and their results read back row by row. See docs/salesforce.md."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from intent_pipeline.activation.escape import csv_safe
from intent_pipeline.activation.http import GaveUp
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED
from intent_pipeline.activation.salesforce.auth import SalesforceApi, _error, _json, _status
from intent_pipeline.activation.salesforce.config import (
    CONN_ID,
    JOB_CONFIG_ERROR_RE,
    MAX_JOB_BYTES,
    POLL_CAP,
    POLL_FACTOR,
    POLL_FIRST,
    TERMINAL_STATES,
    TRANSIENT_RECORD_CODES,
    SalesforceAuthError,
)
from intent_pipeline.activation.segments import Planned

if TYPE_CHECKING:
    import requests

log = logging.getLogger("intent_pipeline.activation.salesforce")


def csv_cell(value: object) -> str:
    """One CSV value as Bulk API 2.0 reads it: quoted when it holds a comma, a quote or a line break
    (quotes doubled); None is the empty cell (the field is left as it is). A text that a spreadsheet
    would run as a formula, or that is ``#N/A`` (Bulk API's null), starts with ``'`` (``escape.csv_safe``)."""
    text = "" if value is None else str(csv_safe(value))
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values: Iterable[object]) -> str:
    return ",".join(csv_cell(v) for v in values) + "\n"


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows of a Bulk API 2.0 result CSV as dicts by header."""
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _why(answer: requests.Response | GaveUp) -> str:
    """Why a bulk step did not succeed: the reason it was given up, or the answer's status."""
    return answer.reason if isinstance(answer, GaveUp) else _status(answer)


class SalesforceBulk(SalesforceApi):
    """Upserts with Bulk API 2.0 ingest jobs of at most ``max_job_bytes`` of CSV (:data:`MAX_JOB_BYTES`)."""

    max_job_bytes = MAX_JOB_BYTES

    def _job_bodies(self, items: list[Planned]) -> list[tuple[dict, list[Planned]]]:
        """``({"job": <create-job request>, "csv": <the upload>}, rows)`` per job, split by CSV size."""
        columns = [self.external_id_field, *dict.fromkeys(name for it in items for name in it.fields)]
        header = csv_line(columns)
        spec = {
            "object": self.sobject,
            "externalIdFieldName": self.external_id_field,
            "contentType": "CSV",
            "operation": "upsert",
            "lineEnding": "LF",
        }
        jobs: list[tuple[dict, list[Planned]]] = []
        rows: list[Planned] = []
        lines: list[str] = []
        size = len(header.encode("utf-8"))
        for item in items:
            line = csv_line([item.key, *(item.fields.get(name) for name in columns[1:])])
            length = len(line.encode("utf-8"))
            if rows and size + length > self.max_job_bytes:
                jobs.append(({"job": spec, "csv": header + "".join(lines)}, rows))
                rows, lines, size = [], [], len(header.encode("utf-8"))
            rows.append(item)
            lines.append(line)
            size += length
        if rows:
            jobs.append(({"job": spec, "csv": header + "".join(lines)}, rows))
        return jobs

    def _run_job(self, body: dict, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        """Create, fill, close and wait for one ingest job; its results mapped back to the rows."""

        def every(status: str, reason: str) -> dict[str, tuple[str, str | None]]:
            return {it.key: (status, reason) for it in items}

        response = self._request("POST", "jobs/ingest", json=body["job"])
        if isinstance(response, GaveUp):
            return every(DEFERRED, f"bulk: creating the job: {response.reason}")
        self._bulk_refuse(response, "creating an ingest job")
        job_id = _json(response).get("id")
        if response.status_code not in (200, 201) or not isinstance(job_id, str) or not job_id:
            return every(DEFERRED, f"bulk: creating the job: unexpected {_status(response)}")
        self.bulk_jobs += 1
        job = f"jobs/ingest/{job_id}"
        data = body["csv"].encode("utf-8")
        log.info("salesforce: bulk job %s: %d %s records, %d bytes of CSV", job_id, len(items), self.sobject, len(data))
        # One upload per job: a timed-out PUT may have arrived, and a second one would be refused.
        upload = self._request(
            "PUT", f"{job}/batches", data=data, headers={"Content-Type": "text/csv"}, retry_timeouts=False
        )
        if isinstance(upload, GaveUp) or upload.status_code != 201:
            self._abort(job)
            if not isinstance(upload, GaveUp):
                self._bulk_refuse(upload, f"uploading the CSV of job {job_id}")
            return every(DEFERRED, f"bulk job {job_id}: upload: {_why(upload)}")
        closing = self._request("PATCH", job, json={"state": "UploadComplete"})
        if isinstance(closing, GaveUp) or closing.status_code != 200:
            # A retried PATCH whose first attempt arrived is refused: the job state says whether it closed.
            info = self._job_info(job)
            if info is None or info.get("state") in (None, "Open"):
                self._abort(job)
                if not isinstance(closing, GaveUp):
                    self._bulk_refuse(closing, f"closing job {job_id}")
                return every(DEFERRED, f"bulk job {job_id}: closing: {_why(closing)}")
        info, reason = self._wait(job, job_id)
        if info is None:
            return every(DEFERRED, reason)
        state = info.get("state")
        if state == "Failed":
            message = str(info.get("errorMessage") or "no errorMessage")
            if JOB_CONFIG_ERROR_RE.search(message):
                raise SalesforceAuthError(
                    self.redact(
                        f"Salesforce Bulk API 2.0 job {job_id} failed: {message} — check the '{CONN_ID}' connection's "
                        f"sobject and external_id_field, and that {self.sobject} has every mapped field."
                    )
                )
            return every(DEFERRED, f"bulk job {job_id} Failed: {message}")
        if state == "Aborted":
            return every(DEFERRED, f"bulk job {job_id} was aborted in Salesforce")
        return self._job_results(job, job_id, items)

    def _bulk_refuse(self, response: requests.Response, what: str) -> None:
        """Like :meth:`_refuse`, and any other 4xx of a bulk request (the request depends on the
        configuration only) is configuration too."""
        self._refuse(response, what)
        if 400 <= response.status_code < 500:
            code, message = _error(response)
            raise SalesforceAuthError(
                self.redact(
                    f"Salesforce answered {response.status_code} ({code}: {message}) {what}: check the '{CONN_ID}' "
                    f"connection's sobject ({self.sobject}) and external_id_field ({self.external_id_field}, an "
                    "External ID field), and the user's Bulk API rights."
                )
            )

    def _abort(self, job: str) -> None:
        """Best effort: an open job that will never be used is aborted (one attempt, outcome ignored)."""
        self._request("PATCH", job, json={"state": "Aborted"}, attempts=1)

    def _job_info(self, job: str) -> dict[str, Any] | None:
        response = self._request("GET", job)
        if isinstance(response, GaveUp) or response.status_code != 200:
            return None
        return _json(response)

    def _wait(self, job: str, job_id: str) -> tuple[dict[str, Any] | None, str]:
        """Poll the job until a final state, at growing intervals, waiting ``bulk_max_wait`` s at most.

        Returns ``(job info, "")``, or ``(None, why the rows are deferred)``."""
        max_wait = self.sending.bulk_max_wait
        waited, interval = 0.0, POLL_FIRST
        while True:
            response = self._request("GET", job)
            if isinstance(response, GaveUp):
                return None, f"bulk job {job_id}: polling: {response.reason}"
            self._refuse(response)
            if response.status_code != 200:
                return None, f"bulk job {job_id}: polling: unexpected {_status(response)}"
            info = _json(response)
            state = info.get("state")
            if state in TERMINAL_STATES:
                return info, ""
            if waited >= max_wait - 1e-6:  # (float sums of the waits may fall a hair short)
                return None, (
                    f"bulk job {job_id} still {state} after {waited:.0f} s (bulk_max_wait): sent again next run "
                    "(upserts are idempotent)"
                )
            wait = min(interval, max_wait - waited)
            self._sleep(wait)
            waited += wait
            interval = min(interval * POLL_FACTOR, POLL_CAP)

    def _job_results(self, job: str, job_id: str, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        """Successful → acknowledged, failed → rejected (row lock: deferred), unprocessed or in no
        result → deferred; matched on the external id column."""
        keys = {it.key for it in items}
        outcomes: dict[str, tuple[str, str | None]] = {}
        missing = f"bulk job {job_id}: in no result (successful, failed or unprocessed): sent again next run"
        for kind in ("successfulResults/", "failedResults/", "unprocessedrecords/"):
            response = self._request("GET", f"{job}/{kind}", headers={"Accept": "text/csv"})
            if not isinstance(response, GaveUp):
                self._refuse(response)
            if isinstance(response, GaveUp) or response.status_code != 200:
                missing = f"bulk job {job_id}: {kind} unavailable ({_why(response)}): sent again next run"
                continue
            rows = read_csv(response.content.decode("utf-8-sig"))
            for row in rows:
                key = row.get(self.external_id_field)
                if key is None or key not in keys or key in outcomes:
                    continue
                if kind == "successfulResults/":
                    outcomes[key] = (ACKNOWLEDGED, None)
                    if (row.get("sf__Created") or "").strip().lower() == "true":
                        self.created += 1
                    else:
                        self.updated += 1
                elif kind == "failedResults/":
                    error = (row.get("sf__Error") or "").strip() or "failed without sf__Error"
                    transient = error.split(":", 1)[0].strip() in TRANSIENT_RECORD_CODES
                    outcomes[key] = (DEFERRED if transient else REJECTED, error)
                else:
                    outcomes[key] = (DEFERRED, f"bulk job {job_id}: unprocessed: sent again next run")
        return {it.key: outcomes.get(it.key) or (DEFERRED, missing) for it in items}
