"""Salesforce: upsert the segment's people as Leads, matched on an external id — with sObject Collections
(``collections.py``), or with Bulk API 2.0 ingest jobs (``bulk.py``) when a run has many rows to send;
settings in ``config.py``, the authenticated call and the token refresh in ``auth.py``.

The API, the field mapping and every answer handled: docs/salesforce.md.
"""

from __future__ import annotations

import logging

from intent_pipeline.activation.email_typos import typo_reason
from intent_pipeline.activation.http import Outcome
from intent_pipeline.activation.ledger import deferred
from intent_pipeline.activation.salesforce.bulk import SalesforceBulk, csv_cell, csv_line, read_csv
from intent_pipeline.activation.salesforce.collections import SalesforceCollections, lead_fields
from intent_pipeline.activation.salesforce.config import (
    BULK_MAX_WAIT,
    BULK_THRESHOLD,
    CONN_ID,
    FIELD_LENGTHS,
    LOGIN_URL,
    MAX_JOB_BYTES,
    MAX_RECORDS,
    MISSING,
    NAME,
    SalesforceAuthError,
    SalesforceConfig,
    TokenUnavailable,
)
from intent_pipeline.activation.segments import KeptInSync, Planned, person_key, validate_person

__all__ = [
    "BULK_MAX_WAIT",
    "BULK_THRESHOLD",
    "CONN_ID",
    "FIELD_LENGTHS",
    "LOGIN_URL",
    "MAX_JOB_BYTES",
    "MAX_RECORDS",
    "MISSING",
    "NAME",
    "SalesforceAuthError",
    "SalesforceConfig",
    "SalesforceDestination",
    "csv_cell",
    "csv_line",
    "lead_fields",
    "read_csv",
]

log = logging.getLogger(__name__)


class SalesforceDestination(SalesforceCollections, SalesforceBulk, KeptInSync):
    """Plans, batches and upserts Leads; with ``config=None`` it only builds the bodies (outbox).

    ``max_job_bytes`` is the largest CSV of one Bulk API 2.0 job (:data:`MAX_JOB_BYTES`).
    """

    name = NAME
    guards_changes = True  # a CRM: a row whose payload the org already acknowledged is not resent

    # --- planning -------------------------------------------------------------------------------

    def key_of(self, row: dict) -> str | None:
        return person_key(row)

    def validate(self, row: dict) -> str | None:
        # an invalid email would make Salesforce reject the whole record (INVALID_EMAIL_ADDRESS);
        # a known-typo domain (163.cm) is not pushed as it is (activation/email_typos.py)
        return validate_person(row, f"the upsert key, {self.external_id_field}") or typo_reason(row.get("email"))

    def map_fields(self, row: dict) -> dict:
        return lead_fields(row, self.config.reasons_language if self.config is not None else "en")

    def bodies(self, items: list[Planned]) -> list[tuple[dict, list[Planned]]]:
        """sObject Collections calls of at most ``batch_size`` records; above ``bulk_threshold`` rows,
        Bulk API 2.0 jobs of at most ``max_job_bytes`` of CSV instead (one body per job)."""
        threshold = self.config.bulk_threshold if self.config is not None else 0
        if threshold and len(items) > threshold:
            return self._job_bodies(items)
        return super().bodies(items)

    # --- sending --------------------------------------------------------------------------------

    def send(self, body: dict, items: list[Planned]) -> list[Outcome]:
        """Upsert one batch (or run one bulk job); ``(person_id, status, reason)`` per row, in the batch's order."""
        try:
            outcomes = self._run_job(body, items) if "job" in body else self._upsert(items)
        except TokenUnavailable as error:
            outcomes = deferred(items, str(error))
        return self._outcomes(items, outcomes)

    def close(self) -> None:
        if self.created or self.updated:
            log.info(
                "salesforce: %d %s records created, %d updated%s",
                self.created,
                self.sobject,
                self.updated,
                f" ({self.bulk_jobs} Bulk API 2.0 jobs)" if self.bulk_jobs else "",
            )
        super().close()
