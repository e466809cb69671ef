"""Paths and options of one installation, read from the environment.

Every ``INTENT_*`` variable the Python code reads is a typed field of :class:`Settings` (the dbt
project reads its own few with ``env_var``), and every on/off value goes through :func:`switch`.
Every path has a default relative to the project root so that a fresh clone works without
configuration; see docs/configuration.md for the table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

SOURCES = ("forms", "email", "web", "crm")

ON = ("1", "true", "yes", "on", "t", "y")
OFF = ("0", "false", "no", "off", "f", "n")
ENGINES = ("duckdb", "postgres")  # INTENT_ENGINE
# INTENT_MODEL_RULE_FEATURES: which rules give the conversion model its rule:<id> and log_hits:<id>
# features (scoring_model.model_signals): "enabled", the rules that award points in the seed the
# warehouse was built with; "all", every rule of the seed, the disabled candidates too; "checked", the
# enabled rules' only when held-out forward blocks of the fit time confirm them over the pipeline's
# inputs alone (scoring_model.rule_features_check; issue 13's twenty-first pass)
MODEL_RULE_FEATURES = ("enabled", "all", "checked")
DEFAULT_MODEL_RULE_FEATURES = "enabled"
# the settings with a fixed set of values (Settings._one_of)
_CHOICES = {"engine": ENGINES, "model_rule_features": MODEL_RULE_FEATURES}


def switch(value: str | bool | None, name: str, default: bool = False) -> bool:
    """The one on/off parser: ``1``/``true``/``yes``/``on`` is on, ``0``/``false``/``no``/``off`` is off
    (any case, spaces ignored; ``t``/``f`` and ``y``/``n`` too, as CSV and DuckDB write them); unset or
    empty is ``default``. Anything else is an error naming ``name``: a typo is not "off"."""
    if value is None or isinstance(value, bool):
        return default if value is None else value
    text = value.strip().lower()
    if not text:
        return default
    if text in ON:
        return True
    if text in OFF:
        return False
    raise ValueError(f"{name} must be one of 1/true/yes/on or 0/false/no/off, got {value!r}")


# Variables whose empty value means the default, as an unset one does (the others keep "": an
# empty INTENT_ON_BAD_FILE is an error, an empty INTENT_PG_HOST is libpq's local socket as in dbt).
_EMPTY_IS_UNSET = (
    "home", "landing_url", "lake_dir", "warehouse", "state_dir", "outbox_dir", "reports_dir",
    "dbt_unit_tests", "dbt_parse_cache", "dbt_fork_socket", "dashboard_build", "dashboard_out", "dashboard_timeout",
    "serving_dir", "serving_mask",
    "pii_salt", "suppression_list", "retention_raw_days", "retention_quarantine_days", "max_quarantine_share",
    "max_reject_share", "raw_gate_batch_rows", "activation_dry_run", "activation_dead_letter_after",
    "activation_max_change_share",
    "activation_guard_min_rows", "forms_decimal", "forms_date_order", "crm_decimal", "crm_date_order", "pg_port",
    "conversion_event", "model_rule_features",
)  # fmt: skip

# The default salt of hashed keys: documented as unsafe (docs/privacy.md), set INTENT_PII_SALT.
DEFAULT_PII_SALT = "intent-warehouse-default-salt"

# from_env(env) reads this mapping instead of os.environ (per call, so concurrent calls do not mix).
_ENV_OVERRIDE: ContextVar[Mapping[str, str] | None] = ContextVar("intent_settings_env", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' own environment source (prefix, names, parsing) over a given mapping.

    Only upper-case names count (``INTENT_HOME``, not ``intent_home``), as with ``os.environ.get``
    before: pydantic-settings matches ``INTENT_`` + the field name case-insensitively.
    """

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        upper = {name: value for name, value in self._mapping.items() if name == name.upper()}
        return parse_env_vars(upper, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class Settings(BaseSettings):
    """Where one installation keeps its data. Build with :meth:`from_env`.

    Each field is read from ``INTENT_<FIELD>`` (``INTENT_HOME``, ``INTENT_LANDING_URL``, ...).
    """

    model_config = SettingsConfigDict(env_prefix="INTENT_", frozen=True, extra="ignore")

    home: Path = PROJECT_ROOT
    # The paths default to <home>/data/...; an empty variable means the default too.
    landing_url: str = Field(default_factory=lambda v: str(v["home"] / "data" / "landing"))
    lake_dir: Path = Field(default_factory=lambda v: v["home"] / "data" / "lake")
    warehouse: Path = Field(default_factory=lambda v: v["home"] / "data" / "warehouse.duckdb")
    state_dir: Path = Field(default_factory=lambda v: v["home"] / "data" / "state")
    outbox_dir: Path = Field(default_factory=lambda v: v["home"] / "data" / "outbox")
    reports_dir: Path = Field(default_factory=lambda v: v["home"] / "data" / "reports")
    source_timezone: str = "Asia/Shanghai"
    on_bad_file: str = "fail"
    # INTENT_DBT_UNIT_TESTS: the DAG's dbt build also runs dbt's unit tests.
    dbt_unit_tests: bool = False
    # INTENT_DBT_PARSE_CACHE: where dbt runs on scratch copies keep their saved parse (pipeline.run_dbt);
    # None: <state>/dbt/scratch-parse.
    dbt_parse_cache: Path | None = None
    # INTENT_DBT_ENV_KEEP: more environment variables that dbt's processes get (comma-separated), besides
    # those pipeline.dbt_process_env keeps: for a profile or a model of your own that reads them.
    dbt_env_keep: str = ""
    # INTENT_DBT_FORK_SOCKET: the Unix socket of a dbt fork server (intent_pipeline.dbt_fork): dbt calls are
    # forked from it instead of starting a dbt process each; None (the default): every call is a subprocess.
    dbt_fork_socket: Path | None = None
    # INTENT_MODEL_RETRAIN_DAYS: train_conversion_model retrains when the newest model is this many days old.
    model_retrain_days: int = 7
    # INTENT_MODEL_RULE_FEATURES: which rules give the conversion model features (MODEL_RULE_FEATURES).
    model_rule_features: str = DEFAULT_MODEL_RULE_FEATURES
    # INTENT_CONVERSION_EVENT: what converts (dbt reads it itself, macro `setting`); here for `rules check`.
    conversion_event: str = "opportunity_created"
    # INTENT_ENGINE: where the DAG builds and reads the marts: "duckdb" (the file `warehouse`) or "postgres"
    # (the server of the INTENT_PG_* variables: the lake is loaded into it, dbt builds there).
    engine: str = "duckdb"

    # Extract: a source's decimal mark ('.' or ',') and date order ('MDY' or 'DMY'); None: decided
    # per file (sources/locale.py).
    forms_decimal: str | None = None
    forms_date_order: str | None = None
    crm_decimal: str | None = None
    crm_date_order: str | None = None
    # Gates (quality/validate.py): the largest share of a raw table's rows in quarantine, and of a
    # destination's rows its latest activation refused.
    max_quarantine_share: float = 0.2
    max_reject_share: float = 0.2
    # The raw gate reads a partition in Arrow record batches of at most this many rows
    # (quality/batched.py): its memory follows this figure, not the partition's size.
    raw_gate_batch_rows: int = 100_000

    # Activation safety (activation.Safety): dead letter after this many failed attempts; a CRM run
    # updating more than this share of its acknowledged records stops (None, "none"/"off": no guard)
    # once the CRM holds guard_min_rows of them; dry run: plan only.
    activation_dry_run: bool = False
    activation_dead_letter_after: int = 5
    activation_max_change_share: float | None = 0.5
    activation_guard_min_rows: int = 100

    # Serving copy and privacy (serving.py, privacy/): None = serving/ beside the build file,
    # <state>/privacy/suppression_list.txt.
    serving_dir: Path | None = None
    serving_mask: bool = True
    pii_salt: str = Field(default=DEFAULT_PII_SALT, repr=False)
    suppression_list: Path | None = None
    # Retention in days (privacy/retention.py); 0 keeps for ever.
    retention_raw_days: int = 400
    retention_quarantine_days: int = 90

    # Dashboards rebuilt by the DAG (dashboard.py): None = build.sh's DASHBOARD_OUT, else dist.
    dashboard_build: bool = False
    dashboard_out: Path | None = None
    dashboard_timeout: float = 600

    # The Postgres target (the dbt profile reads the same variables; postgres_load.py).
    pg_host: str = "localhost"
    pg_port: int = 5432
    pg_user: str = "intent"
    pg_password: str = Field(default="", repr=False)
    pg_dbname: str = "intent_warehouse"
    # INTENT_PG_READER_ROLES: roles (comma-separated) that the DAG's publish grants `usage` on the new
    # schema serving and `select` on its tables (postgres_load.publish_postgres); nothing else.
    pg_reader_roles: str = ""
    # The run's snapshot on Postgres (schemas <pg_snapshot>__marts, __intermediate): set by
    # serving.run_settings for a run's later tasks, as ``warehouse`` is set to its snapshot on DuckDB;
    # empty: the live marts.
    pg_snapshot: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``INTENT_*`` variables from ``env`` (default ``os.environ``), falling back to ``<home>/data/...``."""
        with _reading(env):
            return cls()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env = _ENV_OVERRIDE.get()
        return (init_settings, _MappingEnvSource(settings_cls, os.environ if env is None else env))

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {name: value for name, value in values.items() if name not in _EMPTY_IS_UNSET or not _blank(value)}
        return values

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.resolve()

    @field_validator("on_bad_file")
    @classmethod
    def _known_on_bad_file(cls, value: str) -> str:
        if value not in ("fail", "quarantine"):
            raise ValueError(f"INTENT_ON_BAD_FILE must be 'fail' or 'quarantine', got {value!r}")
        return value

    @field_validator("engine", "model_rule_features", mode="before")
    @classmethod
    def _one_of(cls, value: Any, info: ValidationInfo) -> Any:
        """A setting with a fixed set of values (_CHOICES): trimmed, lower-cased, empty is the default."""
        choices = _CHOICES[info.field_name or ""]
        default = cls.model_fields[info.field_name or ""].default
        choice = (value or default).strip().lower() if isinstance(value, str) else value
        if choice not in choices:
            raise ValueError(f"{_env_name(info)} must be one of {', '.join(choices)}, got {value!r}")
        return choice

    @field_validator("dbt_unit_tests", "activation_dry_run", "serving_mask", "dashboard_build", mode="before")
    @classmethod
    def _switch(cls, value: Any, info: ValidationInfo) -> Any:
        return switch(value, _env_name(info)) if isinstance(value, str) else value

    @field_validator(
        "model_retrain_days",
        "activation_dead_letter_after",
        "activation_guard_min_rows",
        "pg_port",
        "raw_gate_batch_rows",
        mode="before",
    )
    @classmethod
    def _whole_number(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError(f"{_env_name(info)} must be a whole number, got {value!r}") from None

    @field_validator("retention_raw_days", "retention_quarantine_days", mode="before")
    @classmethod
    def _days(cls, value: Any, info: ValidationInfo) -> Any:
        name = _env_name(info)
        try:
            days = int(value.strip()) if isinstance(value, str) else value
        except ValueError:
            raise ValueError(f"{name} must be a whole number of days (0: keep for ever), got {value!r}") from None
        if isinstance(days, int) and days < 0:
            raise ValueError(f"{name} must be >= 0 (0: keep for ever), got {days}")
        return days

    @field_validator("max_quarantine_share", "max_reject_share", "activation_max_change_share", mode="before")
    @classmethod
    def _share(cls, value: Any, info: ValidationInfo) -> Any:
        share = value
        if isinstance(value, str):
            text = value.strip().lower()
            if info.field_name == "activation_max_change_share" and text in ("none", "off"):
                return None
            try:
                share = float(text)
            except ValueError:
                share = -1.0
        if share is not None and not 0 <= share <= 1:
            raise ValueError(f"{_env_name(info)} must be a share between 0 and 1, got {value!r}")
        return share

    @field_validator("forms_decimal", "crm_decimal", mode="before")
    @classmethod
    def _decimal(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and value.strip() not in (".", ","):
            raise ValueError(f"{_env_name(info)} must be '.' or ',', got {value.strip()!r}")
        return value.strip() if isinstance(value, str) else value

    @field_validator("forms_date_order", "crm_date_order", mode="before")
    @classmethod
    def _date_order(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and value.strip().upper() not in ("MDY", "DMY"):
            raise ValueError(f"{_env_name(info)} must be MDY or DMY, got {value.strip().upper()!r}")
        return value.strip().upper() if isinstance(value, str) else value

    @property
    def pg_readers(self) -> tuple[str, ...]:
        """The roles of ``INTENT_PG_READER_ROLES``, in order, blanks left out."""
        return tuple(name.strip() for name in self.pg_reader_roles.split(",") if name.strip())

    @property
    def models_dir(self) -> Path:
        """Where the conversion model versions are kept (``<version>/model.json``)."""
        return self.state_dir / "models" / "lead_conversion"

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "activation_ledger.sqlite"

    def landing_for(self, source: str, interval_start: str) -> str:
        """URL of one source's drop folder for the interval starting on ``interval_start`` (YYYY-MM-DD)."""
        return f"{self.landing_url.rstrip('/')}/{source}/dt={interval_start}"


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _env_name(info: ValidationInfo) -> str:
    return f"INTENT_{(info.field_name or '').upper()}"


@contextmanager
def _reading(env: Mapping[str, str] | None) -> Iterator[None]:
    token = _ENV_OVERRIDE.set(env)
    try:
        yield
    finally:
        _ENV_OVERRIDE.reset(token)
