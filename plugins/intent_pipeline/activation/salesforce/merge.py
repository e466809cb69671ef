"""Salesforce follows identity merges: the record pushed under a merged-away person id is merged into
the survivor's with the SOAP API's ``merge()`` (the REST API has no merge of Leads or Contacts), over
plain HTTP and XML. The rule and its ledger: ``activation/crm_merges.py``; the API: docs/salesforce.md.

Per (retired id, survivor id) pair, three requests at most:

1. ``GET /services/data/vXX.X/sobjects/{sobject}/{external_id_field}/{retired}?fields=Id``: the merged-away
   record's Salesforce id (``merge()`` takes record ids; external ids cannot be used with it); 404: no
   record under that id (never pushed, or already merged: a merged record is deleted), nothing to merge;
2. the same for the survivor; 404: its upsert is not acknowledged yet, the merge waits for a later run;
3. ``POST /services/Soap/u/{api_version}`` (``Content-Type: text/xml``, ``SOAPAction: ""``) with the
   OAuth access token as ``SessionHeader/sessionId`` and one ``MergeRequest``: ``masterRecord`` = the
   survivor's record (``type`` and ``Id``; no field is overwritten: the survivor's upsert just wrote its
   values), ``recordToMergeIds`` = the retired id's record. The ``MergeResult``'s ``success`` decides.

Answers, classified (``MergeAnswer.status``):

* **retry later** (``deferred``): 5xx, the fault ``SERVER_UNAVAILABLE`` and the concurrent-request
  ``REQUEST_LIMIT_EXCEEDED`` after the run's retries; the 24-hour ``TotalRequests`` allocation at once
  (every later pair of the run is deferred without a call); a timeout of the merge call (not repeated
  within the run: it may have been carried out; the next run reads the records again); a ``MergeResult``
  with ``UNABLE_TO_LOCK_ROW`` or ``ENTITY_IS_DELETED`` (the records changed meanwhile: read again next run);
* **fail the task** (``SalesforceAuthError``): ``INVALID_SESSION_ID`` after one token refresh (or
  without a refresh token), the faults that say the org, the user or the connection is wrong
  (:data:`CONFIG_FAULTS`), and HTTP 401/403/404/405 of the SOAP endpoint;
* **refuse and record** (``rejected``): any other ``MergeResult`` error (a converted Lead,
  ``INSUFFICIENT_ACCESS_OR_READONLY`` on one record, a validation rule, …) or fault about this request
  only, with Salesforce's ``statusCode: message``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from intent_pipeline.activation.crm_merges import MergeAnswer
from intent_pipeline.activation.http import GaveUp, Retry
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED
from intent_pipeline.activation.salesforce.auth import SalesforceApi, _retry_after, _status
from intent_pipeline.activation.salesforce.config import CONN_ID, LIMIT_CODE, SalesforceAuthError

if TYPE_CHECKING:
    import requests

log = logging.getLogger("intent_pipeline.activation.salesforce")

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
SOBJECT = "urn:sobject.partner.soap.sforce.com"
SOAP_PATH = "/services/Soap/u/{version}"  # the partner API's endpoint on the org's instance
# merge() takes Leads, Contacts and Accounts (and Cases and Individuals, which this project never pushes)
MERGEABLE = frozenset({"Lead", "Contact", "Account"})
# Faults that no retry and no other record can change: the connection, the user or the org is wrong.
CONFIG_FAULTS = frozenset(
    {"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED", "INSUFFICIENT_ACCESS", "INVALID_TYPE", "INVALID_FIELD",
     "UNSUPPORTED_API_VERSION", "INVALID_OPERATION_WITH_EXPIRED_PASSWORD", "ORG_LOCKED", "ORG_SUSPENDED",
     "INVALID_LOGIN", "LOGIN_MUST_USE_SECURITY_TOKEN", "NO_SOFTPHONE_LAYOUT", "INVALID_SOAP_HEADER"}
)  # fmt: skip
# Faults worth another attempt (Salesforce busy or in maintenance; an internal error).
TRANSIENT_FAULTS = frozenset({"SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"})
# MergeResult errors that say the records changed meanwhile: read them again next run.
TRANSIENT_MERGE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "ENTITY_IS_DELETED"})


def merge_envelope(session_id: str, sobject: str, master_id: str, merged_ids: list[str]) -> str:
    """The SOAP 1.1 envelope of one ``merge()`` call with one ``MergeRequest``."""
    merged = "".join(f"<sf:recordToMergeIds>{escape(i)}</sf:recordToMergeIds>" for i in merged_ids)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:sf="{PARTNER}" '
        f'xmlns:so="{SOBJECT}"><soapenv:Header><sf:SessionHeader><sf:sessionId>{escape(session_id)}</sf:sessionId>'
        "</sf:SessionHeader></soapenv:Header><soapenv:Body><sf:merge><sf:request><sf:masterRecord>"
        f"<so:type>{escape(sobject)}</so:type><so:Id>{escape(master_id)}</so:Id></sf:masterRecord>{merged}"
        "</sf:request></sf:merge></soapenv:Body></soapenv:Envelope>"
    )


def parse_xml(data: bytes) -> ElementTree.Element | None:
    """The answer's XML, or None for a body that is no XML (a proxy's HTML page). A document type
    declaration is refused unparsed (Salesforce sends none; entity expansion stays out)."""
    if b"<!DOCTYPE" in data[:2048].upper():
        return None
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None


def soap_fault(root: ElementTree.Element | None) -> tuple[str, str] | None:
    """``(exception code, message)`` of a SOAP fault: the code from ``detail``'s ``exceptionCode`` or
    ``faultcode`` (``sf:INVALID_SESSION_ID`` → ``INVALID_SESSION_ID``; ``soapenv:Client`` as it is); None
    when the answer is no fault."""
    if root is None:
        return None
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    if fault is None:
        return None
    faultcode = (fault.findtext("faultcode") or "").strip()
    message = (fault.findtext("faultstring") or "").strip()
    code = next((e.text.strip() for e in fault.iter() if e.tag.endswith("}exceptionCode") and e.text), None)
    if code is None:
        code = faultcode.split(":", 1)[1] if faultcode.startswith("sf:") else faultcode or "FAULT"
    detail = next((e.text.strip() for e in fault.iter() if e.tag.endswith("}exceptionMessage") and e.text), None)
    return code, detail or message.removeprefix(f"{code}: ")


def merge_results(root: ElementTree.Element) -> list[dict]:
    """The ``MergeResult`` elements of a ``mergeResponse``: ``success``, ``id``, ``mergedRecordIds``,
    ``updatedRelatedIds`` and ``errors`` (``statusCode``, ``message``) each."""
    out = []
    for result in root.iter(f"{{{PARTNER}}}result"):
        errors = [
            (
                (error.findtext(f"{{{PARTNER}}}statusCode") or "").strip(),
                (error.findtext(f"{{{PARTNER}}}message") or "").strip(),
            )
            for error in result.findall(f"{{{PARTNER}}}errors")
        ]
        out.append(
            {
                "success": (result.findtext(f"{{{PARTNER}}}success") or "").strip() == "true",
                "id": (result.findtext(f"{{{PARTNER}}}id") or "").strip(),
                "mergedRecordIds": [(e.text or "").strip() for e in result.findall(f"{{{PARTNER}}}mergedRecordIds")],
                "updatedRelatedIds": [
                    (e.text or "").strip() for e in result.findall(f"{{{PARTNER}}}updatedRelatedIds")
                ],
                "errors": errors,
            }
        )
    return out


class SalesforceMerger(SalesforceApi):
    """Reads record ids by external id (REST) and merges records (SOAP ``merge()``), with the
    destination's token, refresh, retries and secrets (``SalesforceApi``)."""

    def record_id(self, person_id: str) -> str | None | MergeAnswer:
        """The Salesforce id of the record whose external id is ``person_id``; None when there is none."""
        path = f"sobjects/{self.sobject}/{self.external_id_field}/{quote(person_id, safe='')}"
        response = self._request("GET", path, params={"fields": "Id"})
        if isinstance(response, GaveUp):
            return MergeAnswer(DEFERRED, f"reading {person_id}: {response.reason}")
        if response.status_code == 404:
            return None
        self._refuse(response, f"reading {self.sobject} {person_id} by {self.external_id_field}")
        if response.status_code == 300:  # several records: the external id field is not unique
            return MergeAnswer(
                REJECTED,
                f"several {self.sobject} records have {self.external_id_field} = {person_id} (HTTP 300): make the "
                "field Unique",
            )
        if response.status_code != 200:
            return MergeAnswer(DEFERRED, f"reading {person_id}: unexpected {_status(response)}")
        try:
            record_id = response.json().get("Id")
        except (ValueError, AttributeError):
            record_id = None
        if not isinstance(record_id, str) or not record_id:
            return MergeAnswer(DEFERRED, f"reading {person_id}: HTTP 200 without an Id: {response.text[:200]}")
        return record_id

    def merge(self, master_id: str, merged_id: str) -> MergeAnswer:
        """One SOAP ``merge()`` of ``merged_id`` into ``master_id``; see the module docstring."""
        config = self.sending
        if not self._access_token:
            self._refresh("no access token configured")
        url = self._instance_url + SOAP_PATH.format(version=config.api_version)
        refreshed = False

        def call() -> requests.Response:
            envelope = merge_envelope(self._access_token, self.sobject, master_id, [merged_id])
            headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""', "Accept": "text/xml"}
            return self._http().post(url, data=envelope.encode("utf-8"), headers=headers, timeout=config.timeout)

        def attempt() -> MergeAnswer | Retry | GaveUp:
            nonlocal refreshed
            response = call()
            root = parse_xml(response.content)
            fault = soap_fault(root)
            if fault is not None and fault[0] == "INVALID_SESSION_ID" and self._refresh_token and not refreshed:
                self._refresh(f"SOAP fault INVALID_SESSION_ID: {fault[1]}")
                refreshed = True
                self._count_request()  # the same call with the new token: not a retry
                response = call()
                root = parse_xml(response.content)
                fault = soap_fault(root)
            return self._classify_merge(response, root, fault, refreshed, master_id, merged_id)

        # A timeout is not retried: the merge may have been carried out (the next run reads the records again).
        answer: MergeAnswer | GaveUp = self._with_retries(
            attempt, attempts=config.max_retries + 1, label="salesforce merge", retry_errors=False
        )
        if isinstance(answer, GaveUp):
            return MergeAnswer(DEFERRED, f"merge(): {answer.reason}")
        return answer

    def _classify_merge(
        self,
        response: requests.Response,
        root: ElementTree.Element | None,
        fault: tuple[str, str] | None,
        refreshed: bool,
        master_id: str,
        merged_id: str,
    ) -> MergeAnswer | Retry | GaveUp:
        status = response.status_code
        if fault is not None:
            code, message = fault
            reason = self.redact(f"SOAP fault {code}: {message}")
            if code == "INVALID_SESSION_ID":
                again = " again after refreshing the access token" if refreshed else ""
                hint = (
                    "the integration user may have lost API access or its sessions were revoked"
                    if refreshed
                    else "the access token (password) is wrong or expired; configure client_id, client_secret "
                    "and refresh_token in the extra to refresh it"
                )
                raise SalesforceAuthError(f"Salesforce SOAP merge() answered {reason}{again} for '{CONN_ID}': {hint}")
            if code == LIMIT_CODE:
                if "TotalRequests" in message:
                    self.exhausted = f"Salesforce API allocation used up, not called: {reason}"
                    return GaveUp(reason)
                return Retry(reason, _retry_after(response))
            if code in TRANSIENT_FAULTS or code == "soapenv:Server":
                return Retry(reason, _retry_after(response))
            if code in CONFIG_FAULTS:
                raise SalesforceAuthError(
                    f"Salesforce SOAP merge() answered {reason}: check the '{CONN_ID}' connection (its user needs API "
                    f"access and the right to merge {self.sobject} records; sobject must be one of "
                    f"{', '.join(sorted(MERGEABLE))}; api_version {self.sending.api_version})"
                )
            return MergeAnswer(REJECTED, reason)
        if status in (401, 403, 404, 405):
            raise SalesforceAuthError(
                self.redact(
                    f"Salesforce answered HTTP {status} to SOAP merge() at {response.request.url}: check the "
                    f"'{CONN_ID}' connection's host (the org's My Domain URL) and api_version"
                )
            )
        if status >= 500 or status == 429:
            return Retry(f"HTTP {status} from SOAP merge()", _retry_after(response))
        results = merge_results(root) if root is not None and status == 200 else []
        if len(results) != 1:
            return MergeAnswer(DEFERRED, self.redact(f"SOAP merge(): HTTP {status} without one MergeResult: "
                                                     f"{response.text[:300]}"))  # fmt: skip
        result = results[0]
        if result["success"]:
            related = len(result["updatedRelatedIds"])
            return MergeAnswer(ACKNOWLEDGED, f"merged {merged_id} into {master_id} ({related} related records moved)")
        text = "; ".join(f"{code}: {message}" for code, message in result["errors"]) or "success is not true"
        codes = {code for code, _ in result["errors"]}
        if codes and codes <= TRANSIENT_MERGE_CODES:
            return MergeAnswer(DEFERRED, f"merge(): {text} (read again next run)")
        return MergeAnswer(REJECTED, f"merge(): {text}")

    def reconcile(self, retired: str, survivor: str) -> MergeAnswer:
        """Merge the retired id's record into the survivor's (see the module docstring)."""
        if self.exhausted:
            return MergeAnswer(DEFERRED, self.exhausted)
        gone = self.record_id(retired)
        if isinstance(gone, MergeAnswer):
            return gone
        if gone is None:
            return MergeAnswer(ACKNOWLEDGED, f"no {self.sobject} under the merged-away id: nothing to merge",
                               nothing_to_merge=True)  # fmt: skip
        kept = self.record_id(survivor)
        if isinstance(kept, MergeAnswer):
            return kept
        if kept is None:
            return MergeAnswer(DEFERRED, f"the survivor has no {self.sobject} yet (its upsert is not acknowledged)")
        if kept == gone:  # cannot be with a Unique external id; nothing to do either way
            return MergeAnswer(ACKNOWLEDGED, "one record for both ids: nothing to merge", nothing_to_merge=True)
        return self.merge(kept, gone)
