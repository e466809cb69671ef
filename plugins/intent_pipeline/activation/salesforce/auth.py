"""Salesforce's authenticated call: the bearer token, its refresh (OAuth 2.0 refresh-token flow), the
retries (``http.with_retries``), and the answers no retry can change. See docs/salesforce.md."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from intent_pipeline.activation.http import GaveUp, HttpSender, Retry, status_outcome
from intent_pipeline.activation.salesforce.config import (
    CONFIG_CODES,
    CONN_ID,
    LIMIT_CODE,
    MAX_RECORDS,
    TOKEN_PATH,
    SalesforceAuthError,
    SalesforceConfig,
    TokenUnavailable,
)

if TYPE_CHECKING:
    import requests

log = logging.getLogger("intent_pipeline.activation.salesforce")


class SalesforceApi(HttpSender[SalesforceConfig]):
    """What the sObject Collections and the Bulk API 2.0 paths share: the org's settings, the
    authenticated call (:meth:`_request`) and the token refresh. Secrets (client secret, refresh and
    access tokens, the configured ones and those obtained) are in ``secrets``: never logged, raised or
    written to the ledger."""

    name = "salesforce"

    def __init__(
        self,
        config: SalesforceConfig | None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        sobject: str = "Lead",
        external_id_field: str = "Intent_Person_Id__c",
        batch_size: int = MAX_RECORDS,
        clock: Callable[[], float] = time.monotonic,  # accepted like every destination's; no client-side limit
    ):
        self.config = config
        self.sobject = config.sobject if config else sobject
        self.external_id_field = config.external_id_field if config else external_id_field
        self.batch_size = config.batch_size if config else batch_size
        self._start_http(sleep, rng, config.secrets if config else ())
        self.created = 0
        self.updated = 0
        self.bulk_jobs = 0  # Bulk API 2.0 jobs created
        self.token_refreshes = 0  # access tokens obtained with the refresh token
        self._access_token = config.access_token if config else ""
        self._refresh_token = config.refresh_token if config else ""
        self._instance_url = config.instance_url.rstrip("/") if config else ""

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}  # the bearer token goes with each request: it can be refreshed

    def _url(self, path: str) -> str:
        return f"{self._instance_url}/services/data/v{self.sending.api_version}/{path}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        attempts: int | None = None,
        retry_timeouts: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response | GaveUp:
        """One API call with the bearer token, retried on 5xx, the concurrent-request limit and timeouts
        (after the answer's ``Retry-After`` when it has one); a 401 gets one token refresh (with a refresh
        token) and the call is repeated at once, in the same attempt.

        Returns the response — the second 401 included — or ``GaveUp`` (the reason redacted).
        """
        config = self.sending
        if not self._access_token:
            self._refresh("no access token configured")
        refreshed = False

        def call() -> requests.Response:
            return self._http().request(
                method,
                self._url(path),
                headers={**(headers or {}), "Authorization": f"Bearer {self._access_token}"},
                timeout=config.timeout,
                **kwargs,
            )

        def attempt() -> requests.Response | Retry | GaveUp:
            nonlocal refreshed
            response = call()
            if response.status_code == 401 and self._refresh_token and not refreshed:
                self._refresh(f"HTTP 401 {_error(response)[0]}".strip())
                refreshed = True
                self._count_request()  # the same call again with the new token: not a retry
                response = call()
            return self._classify(response)

        return self._with_retries(attempt, attempts=attempts or config.max_retries + 1, retry_errors=retry_timeouts)

    def _classify(self, response: requests.Response) -> requests.Response | Retry | GaveUp:
        status = response.status_code
        code, message = _error(response)
        if status == 403 and code == LIMIT_CODE:
            reason = f"HTTP 403 {code}: {message}"
            if "TotalRequests" in message:
                # The org's 24-hour allocation: no retry within this run can succeed.
                self.exhausted = self.redact(f"Salesforce API allocation used up, not called: {reason}")
                return GaveUp(self.redact(reason))
            # The concurrent-request limit: Salesforce documents it as worth another try, the one 4xx retried.
            return Retry(reason, _retry_after(response))
        if status >= 500:
            return Retry(f"HTTP {status} {code}: {message}".strip(), _retry_after(response))
        return response

    def _refresh(self, why: str) -> None:
        """A new access token from the refresh token (OAuth 2.0 refresh-token flow); see docs/salesforce.md."""
        config = self.sending
        if not self._refresh_token:  # only an access token was configured and it was refused
            raise SalesforceAuthError(f"Salesforce: no refresh token in the '{CONN_ID}' connection ({why})")
        form = {"grant_type": "refresh_token", "client_id": config.client_id, "refresh_token": self._refresh_token}
        if config.client_secret:
            form["client_secret"] = config.client_secret
        url = config.login_url.rstrip("/") + TOKEN_PATH

        def attempt() -> requests.Response | Retry:
            # form-encoded, and without the (expired) bearer token
            response = self._http().post(url, data=form, timeout=config.timeout)
            if response.status_code == 200:
                return response
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            answer = answer if isinstance(answer, dict) else {}
            error = f"{answer.get('error', '')}: {answer.get('error_description', '')}".strip(": ")
            reason = f"HTTP {response.status_code} {error or response.text[:200]}"
            retry = status_outcome(response, reason)
            if retry is None:
                raise SalesforceAuthError(
                    f"Salesforce refused to refresh the access token of the '{CONN_ID}' connection "
                    f"({reason}) at {url}: authorize the connected app again and put the new refresh "
                    "token (and its client_id / client_secret) in the connection's extra."
                )
            return retry

        response = self._with_retries(attempt, attempts=config.max_retries + 1, label="salesforce: token endpoint")
        if isinstance(response, GaveUp):
            raise TokenUnavailable(self.redact(f"Salesforce token endpoint {url}: {response.reason}"))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        answer = answer if isinstance(answer, dict) else {}
        token, instance = answer.get("access_token"), answer.get("instance_url")
        if (
            not isinstance(token, str)
            or not token
            or not isinstance(instance, str)
            or not instance.startswith(("http://", "https://"))
        ):
            raise SalesforceAuthError(
                f"Salesforce token endpoint {url} answered 200 without an access_token and instance_url "
                f"for the '{CONN_ID}' connection"
            )
        self.secrets.add(token)
        if urlsplit(instance).netloc.lower() != urlsplit(config.instance_url).netloc.lower():
            # The token belongs to another org (a sandbox?): sending there would record the configured
            # org's acknowledgements for rows it never received.
            raise SalesforceAuthError(
                f"Salesforce: the refresh token of the '{CONN_ID}' connection is for {instance}, but the "
                f"connection's host is {config.instance_url}: set the host to the org the token belongs to "
                "(or use that org's refresh token)."
            )
        self._access_token = token
        self._instance_url = instance.rstrip("/")
        rotated = answer.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self.secrets.add(rotated)
            self._refresh_token = rotated
            log.warning(
                "salesforce: the connected app rotates refresh tokens: the refresh token in the '%s' connection "
                "is no longer valid after this run; turn rotation off for this app or store the new token",
                CONN_ID,
            )
        self.token_refreshes += 1
        log.info("salesforce: new access token for %s (%s)", self._instance_url, why)

    def _refuse(self, response: requests.Response, what: str = "") -> None:
        """Raise :class:`SalesforceAuthError` for an answer that no retry can change (401, 403, 404, 405,
        a 400 naming the org's schema); return otherwise."""
        status = response.status_code
        code, message = _error(response)
        if status == 401:
            if self._refresh_token:
                raise SalesforceAuthError(
                    self.redact(
                        f"Salesforce answered 401 ({code}: {message}) again after refreshing the access token of the "
                        f"'{CONN_ID}' connection: the integration user may have lost API access or its sessions were "
                        "revoked — check the user and the connected app's OAuth policies."
                    )
                )
            raise SalesforceAuthError(
                self.redact(
                    f"Salesforce answered 401 ({code}: {message}): the access token of the '{CONN_ID}' connection "
                    "(password) is wrong or its session expired — get a fresh token for the integration user, or "
                    "configure client_id, client_secret and refresh_token in the extra to refresh it."
                )
            )
        if status == 403:
            raise SalesforceAuthError(
                self.redact(
                    f"Salesforce answered 403 ({code}: {message}): the integration user of '{CONN_ID}' needs API "
                    f"access and create/edit rights on {self.sobject} and its fields."
                )
            )
        if status in (404, 405) or (status == 400 and code in CONFIG_CODES):
            raise SalesforceAuthError(
                self.redact(
                    f"Salesforce answered {status} ({code}: {message}) for {what or response.request.url}: check the "
                    f"'{CONN_ID}' connection's host (the org's My Domain URL), api_version, and that {self.sobject} "
                    f"has the fields {self.external_id_field} (External ID) and Intent_Score__c, Intent_Grade__c, "
                    "Intent_Reasons__c."
                )
            )


def _retry_after(response: requests.Response) -> float | None:
    """The answer's ``Retry-After`` in seconds (capped), or None (exponential backoff) without one."""
    from intent_pipeline.activation.retry import retry_after_seconds

    value = response.headers.get("Retry-After")
    return retry_after_seconds(value) if value else None


def _json(response: requests.Response) -> dict[str, Any]:
    """The JSON object of a response, or ``{}``."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _status(response: requests.Response | None) -> str:
    """``HTTP <status> <errorCode>: <message>`` of a response, for a reason."""
    if response is None:
        return "no answer"
    code, message = _error(response)
    return f"HTTP {response.status_code} {code}: {message}".strip().rstrip(":")


def _error(response: requests.Response) -> tuple[str, str]:
    """``(errorCode, message)`` of a Salesforce error response (a JSON array of errors), or ``("", body)``."""
    if response.status_code < 300:
        return "", ""
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:300]
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, dict) and (first.get("errorCode") or first.get("message")):
        return str(first.get("errorCode") or ""), str(first.get("message") or "")
    return "", str(data)[:300]
