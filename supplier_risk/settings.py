"""The one settings object: every configuration value, read from SUPPLIER_RISK_* variables."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGED_MODEL = "data/models/default.json"


def default_model_path() -> Path:
    """Return the shipped default model: inside the installed package, else in the checkout."""
    packaged = Path(str(resources.files("supplier_risk").joinpath(PACKAGED_MODEL)))
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "models" / "default.json"


class Settings(BaseSettings):
    """Configuration of the service and the CLI (environment prefix ``SUPPLIER_RISK_``)."""

    # A variable set but empty (`SUPPLIER_RISK_MODEL_PATH=` in a compose file or an env file)
    # means "not set": the default, not Path("") = the current directory.
    model_config = SettingsConfigDict(
        env_prefix="SUPPLIER_RISK_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    model_path: Path | None = Field(
        default=None, description="model file to serve and score with (default: the shipped model)"
    )
    reference_dir: Path | None = Field(
        default=None,
        description="directory with materials.json, end_uses.json and policy.json "
        "(default: the shipped tables)",
    )
    scenarios_path: Path | None = Field(
        default=None, description="scenario file (default: the shipped scenarios.json)"
    )
    host: str = Field(default="127.0.0.1", description="address `serve` binds to")
    port: int = Field(default=8000, ge=1, le=65535, description="port `serve` listens on")
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes")
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description="comma-separated API keys; empty means no authentication (warned at start)",
    )
    open_health: bool = Field(
        default=True, description="serve /healthz, /readyz and /metrics without an API key"
    )
    max_body_bytes: int = Field(
        # A full batch (max_batch_items records with 60-character names) is about 4 MB.
        default=8 * 1024 * 1024,
        ge=1024,
        description="largest JSON request body, in bytes",
    )
    max_csv_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1024, description="largest CSV upload, in bytes"
    )
    max_batch_items: int = Field(
        default=10_000, ge=1, description="most suppliers in one POST /v1/score/batch"
    )
    keep_freed_memory_mb: int = Field(
        default=64,
        ge=0,
        le=1024,
        description="memory (MB) freed by one request that the server keeps for the next, "
        "instead of returning it to the kernel and faulting it in again (glibc only; 0: the "
        "C library's defaults)",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="log level of the JSON logs on stdout"
    )
    today: dt.date | None = Field(
        default=None,
        description="date used when a record has no as_of (default: the current UTC date)",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        # Operators write INFO as often as info; both mean the same level.
        return value.strip().lower() if isinstance(value, str) else value

    def resolved_model_path(self) -> Path:
        """Return the model file to use."""
        return self.model_path if self.model_path is not None else default_model_path()

    def current_date(self) -> dt.date:
        """Return the date records without as_of are scored for."""
        return self.today if self.today is not None else dt.datetime.now(dt.UTC).date()
