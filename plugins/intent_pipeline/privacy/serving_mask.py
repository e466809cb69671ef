"""Masked BI: which mart columns are personal data (the dbt ``meta: {pii: true}`` tag) and how the
serving copy shows them (docs/privacy.md, "Masked BI").

The tag is read from dbt's manifest (``<state>/dbt/target/manifest.json``, written by every build),
or, before the first build, from the models' YAML files, which the manifest is compiled from. A
column is masked by its name:

* ``…email…`` -> :func:`mask.mask_email` (``w***@example.com``), plus ``<column>_key``;
* ``…phone…`` -> :func:`mask.mask_phone` (``***8000``), plus ``<column>_key``;
* ``…name`` -> :func:`mask.mask_name` (``王*``, ``W***``);
* anything else tagged (``identifiers``, ``example_reason``) -> :func:`mask.hashed_key`.

``<column>_key`` is :func:`mask.hashed_key` of the unmasked value: a stable, salted key
(``INTENT_PII_SALT``) that joins masked tables with each other without showing the value.
Activation never reads the serving copy: it reads the run's unmasked snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

from intent_pipeline.privacy import mask

# rule -> the DuckDB function publish registers for it
FUNCTIONS = {
    "email": "intent_mask_email",
    "phone": "intent_mask_phone",
    "name": "intent_mask_name",
    "hash": "intent_hashed_key",
}
KEYED_RULES = ("email", "phone")


def masking_enabled(env: Mapping[str, str] | None = None) -> bool:
    """``INTENT_SERVING_MASK`` (default on); ``0``/``false``/``off`` publishes unmasked values."""
    from intent_pipeline.settings import Settings

    return Settings.from_env(env).serving_mask


def publish_masking(
    mask: bool | None, pii: Mapping[str, Mapping[str, str]] | None
) -> tuple[bool, Mapping[str, Mapping[str, str]]]:
    """What a publish (DuckDB or Postgres) masks: ``mask`` (None: :func:`masking_enabled`) and the
    tagged columns ``pii`` (None: :func:`pii_columns`, read only when masking; ``{}`` when not)."""
    if mask is None:
        mask = masking_enabled()
    if mask and pii is None:
        pii = pii_columns()
    return mask, (pii or {}) if mask else {}


def rule_for(column: str) -> str:
    """How a tagged column is masked, by its name."""
    name = column.lower()
    if "email" in name:
        return "email"
    if "phone" in name:
        return "phone"
    if name.endswith("name"):
        return "name"
    return "hash"


def _tagged(column: Mapping) -> bool:
    meta = dict(column.get("meta") or {})
    meta.update((column.get("config") or {}).get("meta") or {})
    return bool(meta.get("pii"))


def pii_columns_from_manifest(manifest_path: Path) -> dict[str, dict[str, str]]:
    """``{model name: {column: rule}}`` of every model in schema ``marts`` with a tagged column."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    found: dict[str, dict[str, str]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node.get("schema") != "marts":
            continue
        columns = {name: rule_for(name) for name, column in (node.get("columns") or {}).items() if _tagged(column)}
        if columns:
            found[node.get("alias") or node["name"]] = columns
    return found


def pii_columns_from_yaml(models_dir: Path) -> dict[str, dict[str, str]]:
    """The same from the models' YAML files under ``models/marts`` (before the first build)."""
    import yaml

    found: dict[str, dict[str, str]] = {}
    for path in sorted(Path(models_dir).rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models") or []:
            columns = {c["name"]: rule_for(c["name"]) for c in model.get("columns") or [] if _tagged(c)}
            if columns:
                found[model["name"]] = columns
    return found


def pii_columns(manifest_path: Path | None = None) -> dict[str, dict[str, str]]:
    """The tagged mart columns: from ``manifest_path`` (default: the installation's last build's
    manifest) when it exists, else from the YAML under ``dbt_project/models/marts``."""
    if manifest_path is None:
        from intent_pipeline.settings import Settings

        manifest_path = Settings.from_env().state_dir / "dbt" / "target" / "manifest.json"
    if Path(manifest_path).exists():
        return pii_columns_from_manifest(Path(manifest_path))
    from intent_pipeline.settings import DBT_PROJECT_DIR

    return pii_columns_from_yaml(DBT_PROJECT_DIR / "models" / "marts")


def maskers(key_salt: str | None = None) -> dict[str, Callable[[str | None], str | None]]:
    """``{rule: function}``: what BI sees of a tagged value under each rule (one home:
    :mod:`intent_pipeline.privacy.mask`); ``hash`` is also the ``<column>_key`` of a keyed rule.
    The DuckDB serving copy registers them as SQL functions (:func:`register`), the Postgres
    serving schema applies them to the distinct values of each tagged column
    (``postgres_load.publish_postgres``)."""
    key_salt = key_salt or mask.salt()
    return {
        "email": mask.mask_email,
        "phone": mask.mask_phone,
        "name": mask.mask_name,
        "hash": lambda value: mask.hashed_key(value, key_salt=key_salt),
    }


def register(con) -> None:
    """Register the masking functions (:func:`maskers`) on a DuckDB connection."""
    from duckdb.sqltypes import VARCHAR

    for rule, function in maskers().items():
        con.create_function(FUNCTIONS[rule], function, [VARCHAR], VARCHAR, side_effects=False)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def select_list(columns: list[str], masked: Mapping[str, str]) -> str:
    """The select list of a mart for BI: every column in order, the tagged ones masked (cast to text
    first), then ``<column>_key`` for each masked email and phone."""
    parts = []
    for column in columns:
        rule = masked.get(column)
        if rule is None:
            parts.append(_ident(column))
        else:
            parts.append(f"{FUNCTIONS[rule]}(cast({_ident(column)} as varchar)) as {_ident(column)}")
    for column in columns:
        if masked.get(column) in KEYED_RULES and f"{column}_key" not in columns:
            parts.append(f"{FUNCTIONS['hash']}(cast({_ident(column)} as varchar)) as {_ident(column + '_key')}")
    return ", ".join(parts)
