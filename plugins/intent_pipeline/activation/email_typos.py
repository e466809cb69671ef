"""Addresses with a known-typo domain (``xuyu515@163.cm``): flagged, never pushed to a CRM as they are.

The typos are a seed marketing can extend, ``dbt_project/seeds/email_domain_typos.csv``
(``typo_domain``, ``intended_domain``). A CRM destination (HubSpot, Salesforce) treats a row whose
address has one as invalid, with the reason in the run's row log ("163.cm looks like a typo of
163.com"); the address is corrected in the source (the form tool, the CRM export) and the next run
pushes it. Guessing the intended domain and pushing that instead would send a contact to an address
the person never gave.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

TYPOS_SEED = Path(__file__).resolve().parents[3] / "dbt_project" / "seeds" / "email_domain_typos.csv"


@functools.cache
def known_typos(path: Path = TYPOS_SEED) -> dict[str, str]:
    """``{typo_domain: intended_domain}``, lower-cased (empty when the seed is missing)."""
    if not path.exists():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {
            row["typo_domain"].strip().lower(): row["intended_domain"].strip().lower()
            for row in csv.DictReader(handle)
            if (row.get("typo_domain") or "").strip()
        }


def typo_reason(email: str | None, path: Path = TYPOS_SEED) -> str | None:
    """Why ``email`` is not pushed as it is (its domain is a known typo), or None."""
    domain = (email or "").strip().lower().rpartition("@")[2]
    intended = known_typos(path).get(domain)
    if not intended:
        return None
    return (
        f"email domain {domain!r} looks like a typo of {intended!r} (seeds/email_domain_typos.csv): "
        "not pushed as it is; correct the address in the source"
    )
