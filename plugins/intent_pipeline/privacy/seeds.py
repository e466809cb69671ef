"""Erased people in the dbt seeds (docs/privacy.md, "Erasure"): a seed row naming an erased
identifier is taken out of the seed file before any build loads it.

A seed is a CSV under ``dbt_project/seeds`` that people edit (``identity_decisions.csv``,
``consent_records.csv``): every ``dbt build`` loads it into the warehouse again, so a row naming an
erased person would put the identifier back in the warehouse (and a ``must_link`` decision would
put the person back in the identity graph) after every erasure. So:

- ``erase`` removes the person's rows from the seeds that hold personal data (a column tagged
  ``meta: {pii: true}``: ``identity_decisions``, ``consent_records``), with the CSV rewriter of the landing
  drops (:func:`landing.rewrite_csv`: every other row kept byte for byte, header, encoding, line ends);
- every build of the pipeline (``pipeline.duckdb_build``, ``pipeline.postgres_build_task``) first
  does the same against the whole suppression list (:func:`drop_erased_rows`), so a row that comes
  back later (a merge of an old branch, a hand edit) is dropped before dbt reads it, counted and
  audited (``seed_erasure``: files and rows, never the identifier).

A row matches like a rejected row at extract: the salted hash of any of its values, of every email-
or phone-like run in one, or of a graph node key's value (``crm_lead:…``) is on the list. A seed
file that cannot be rewritten stops the build (:class:`SeedErasureError`): loading it would put an
erased person back.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from intent_pipeline.privacy import landing, suppression

if TYPE_CHECKING:
    from intent_pipeline.settings import Settings

log = logging.getLogger(__name__)


class SeedErasureError(RuntimeError):
    """A seed file names an erased person and cannot be rewritten."""


def seeds_dir() -> Path:
    """The dbt project's seed folder (read at call time: tests point the project elsewhere)."""
    from intent_pipeline import settings

    return settings.DBT_PROJECT_DIR / "seeds"


def personal_seeds(folder: Path) -> list[Path]:
    """The seed CSVs that hold personal data: a column tagged ``meta: {pii: true}`` in the seeds'
    YAML (the tags the BI masking reads). The other seeds are rules and lookups: an example number
    in the identity blocklist is not a person, and erasing somebody never edits a rule."""
    import yaml

    names = set()
    for path in sorted(folder.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for seed in document.get("seeds") or []:
            for column in seed.get("columns") or []:
                meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
                if meta.get("pii") is True:
                    names.add(seed["name"])
    return [folder / f"{name}.csv" for name in sorted(names) if (folder / f"{name}.csv").exists()]


def scrub_seeds(
    matcher: suppression.Suppression, apply: bool, directory: Path | None = None
) -> list[landing.LandingHit]:
    """The personal-data seeds (:func:`personal_seeds`) holding rows that ``matcher`` matches (any
    value of the row), and how many rows; rewritten without them when ``apply`` (a file that cannot
    be written keeps its rows and says why in ``error``)."""
    folder = (directory or seeds_dir()).resolve()
    files = personal_seeds(folder) if folder.is_dir() else []
    if not files or not matcher:
        return []
    return landing.scrub_landing(str(folder), matcher, apply=apply, only={str(path) for path in files})


def drop_erased_rows(settings: Settings, *, run_id: str | None = None, directory: Path | None = None) -> dict[str, int]:
    """Before a build: take every row naming an identifier of the suppression list out of the seed
    files; ``{seed file name: rows removed}`` (empty when nothing was found or nobody was ever erased).
    Writes an audit record ``seed_erasure`` when it removed anything; raises
    :class:`SeedErasureError` when a file naming an erased person cannot be rewritten."""
    matcher = suppression.load(settings)
    if not matcher:
        return {}
    hits = scrub_seeds(matcher, apply=True, directory=directory)
    failed = [hit for hit in hits if hit.error]
    if failed:
        raise SeedErasureError(
            "seed files name an erased person (suppression list) and cannot be rewritten, so they are not "
            "loaded: "
            + "; ".join(f"{Path(hit.path).name}: {hit.records} row(s), {hit.error}" for hit in failed)
            + ". Remove those rows (or make the files writable) and build again."
        )
    removed = {Path(hit.path).name: hit.records for hit in hits}
    if removed:
        from intent_pipeline.privacy import audit

        log.warning("seed rows naming erased people removed before the build: %s", removed)
        audit.record(
            "seed_erasure",
            lake_dir=settings.lake_dir,
            record_count=sum(removed.values()),
            run_id=run_id,
            seed_files=removed,
        )
    return removed
