"""Request and response models of the HTTP API (the OpenAPI document is built from them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from service.errors import FieldError
from supplier_risk.record import EXAMPLE_RECORD, SupplierRecord
from supplier_risk.results import ScoreResult


class BatchRequest(BaseModel):
    """Suppliers to score in one request."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"suppliers": [EXAMPLE_RECORD], "explain": True}]},
    )

    suppliers: list[SupplierRecord] = Field(description="the supplier records, in order")
    explain: StrictBool = Field(
        default=True, description="false skips reasons and recourse, for speed"
    )


class BatchEnvelope(BaseModel):
    """A batch request before its items are validated one by one."""

    model_config = ConfigDict(extra="forbid")

    suppliers: list[Any]
    explain: StrictBool = True
    """true or false only: a string such as 'yes' is refused, not guessed at"""


class BatchItemError(BaseModel):
    """An invalid row of a batch: where it is and what is wrong with it."""

    index: int = Field(description="position of the row in `suppliers`, from 0")
    supplier_id: str | None = Field(description="the row's supplier_id, if it had a usable one")
    errors: list[FieldError]


class BatchResponse(BaseModel):
    """Every valid row scored, every invalid row listed; nothing dropped."""

    results: list[ScoreResult] = Field(description="results of the valid rows, in input order")
    errors: list[BatchItemError] = Field(description="the invalid rows, in input order")


class CsvSummary(BaseModel):
    """What a CSV scoring run did."""

    rows: int
    scored: int
    invalid: int
    bands: dict[str, int]


class CsvJsonResponse(BaseModel):
    """The scored supplier list as JSON (POST /v1/score/csv with Accept: application/json)."""

    rows: list[dict[str, str]] = Field(
        description="the input rows, cells as text, with probability, risk_score, band, "
        "top_reasons and error appended; keyed by the header as given, except that a blank "
        "header becomes column_N (N its 1-based place in the row) and a repeated one the first "
        "free of NAME_2, NAME_3, ... (a name given in the header is never displaced), so every "
        "cell is kept"
    )
    summary: CsvSummary


class ModelTerm(BaseModel):
    """A lookup table of the model."""

    name: str
    features: list[str]
    edges: list[list[float]]
    values: list[float] | list[list[float]]


class ModelFeature(BaseModel):
    """A model input."""

    name: str
    kind: str
    levels: list[str] | None = None
    monotone: int
    description: str = ""


class ModelCard(BaseModel):
    """The model being served: version, inputs, term tables, metrics and training data."""

    name: str
    version: str
    sha256: str
    description: str
    format_version: int
    loaded_at: str = Field(description="when this process loaded the model (UTC)")
    features: list[ModelFeature]
    intercept: float
    baseline_probability: float
    terms: list[ModelTerm]
    bands: dict[str, list[Any]]
    metrics: dict[str, dict[str, float]]
    training: dict[str, Any]
    reference_versions: dict[str, str]


class PolicyResponse(BaseModel):
    """The policy table in use."""

    version: str
    table: dict[str, Any] = Field(description="the policy table: control lists, rules, dates")


class ScenarioItem(BaseModel):
    """A named what-if scenario."""

    name: str
    title: str
    description: str
    policy_version: str = Field(description="version of the policy table the scenario implies")


class ScenariosResponse(BaseModel):
    """The scenarios every scoring endpoint accepts as ?scenario=NAME."""

    version: str
    scenarios: list[ScenarioItem]


class Health(BaseModel):
    """Liveness."""

    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    """Readiness: whether a valid model is loaded."""

    status: str = Field(examples=["ready"])
    model_version: str | None
    last_reload_error: str | None = Field(
        default=None,
        description="why the last reload failed (null after a good one): in full with a valid "
        "API key; otherwise file paths are cut to the file's name and an unexpected error is "
        "named only as such",
    )


class ReloadResponse(BaseModel):
    """The result of a reload: the model now serving and, on failure, why."""

    reloaded: bool
    message: str
    model_version: str
    sha256: str
