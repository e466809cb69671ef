"""Paths and options of one installation, read from the environment.

Every path has a default relative to the project root so that a fresh clone
works without configuration; see docs/configuration.md for the table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
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

TRUE_VALUES = ("1", "true", "yes")
ENGINES = ("duckdb", "postgres")  # INTENT_ENGINE


def env_flag(value: str | None) -> bool:
    """An on/off environment variable: ``1``, ``true`` or ``yes`` (any case, spaces ignored) is on,
    anything else (unset, empty, ``0``, ``on``, ...) is off."""
    return (value or "").strip().lower() in TRUE_VALUES


# Variables whose empty value means the default, as an unset one does (the others keep "").
_EMPTY_IS_UNSET = ("home", "landing_url", "lake_dir", "warehouse", "state_dir", "outbox_dir", "reports_dir")

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
    # INTENT_MODEL_RETRAIN_DAYS: train_conversion_model retrains when the newest model is this many days old.
    model_retrain_days: int = 7
    # INTENT_ENGINE: where the DAG builds and reads the marts: "duckdb" (the file `warehouse`) or "postgres"
    # (the server of the INTENT_PG_* variables: the lake is loaded into it, dbt builds there).
    engine: str = "duckdb"

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
            return {name: value for name, value in values.items() if value != "" or name not in _EMPTY_IS_UNSET}
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

    @field_validator("engine", mode="before")
    @classmethod
    def _known_engine(cls, value: Any) -> Any:
        engine = (value or "duckdb").strip().lower() if isinstance(value, str) else value
        if engine not in ENGINES:
            raise ValueError(f"INTENT_ENGINE must be one of {', '.join(ENGINES)}, got {value!r}")
        return engine

    @field_validator("dbt_unit_tests", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        return env_flag(value) if isinstance(value, str) else value

    @field_validator("model_retrain_days", mode="before")
    @classmethod
    def _whole_days(cls, value: Any) -> Any:
        return int(value) if isinstance(value, str) else value

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


@contextmanager
def _reading(env: Mapping[str, str] | None) -> Iterator[None]:
    token = _ENV_OVERRIDE.set(env)
    try:
        yield
    finally:
        _ENV_OVERRIDE.reset(token)
