"""The scoring result of CONTRACT.md section 4, shared by the API, the CLI and the CSV writer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Contribution(_Out):
    """One model term's share of the log-odds, relative to the baseline."""

    feature: str = Field(description="the term: an input, or two joined by ' x '")
    value: bool | str | float | int | None = Field(description="the record's value of that input")
    contribution: float = Field(description="log-odds added to the baseline's")


class Recourse(_Out):
    """A single change to an actionable field that moves the supplier to a lower band."""

    change: dict[str, float | int | str]
    probability: float
    band: str


class ModelRef(_Out):
    """Which model produced a result."""

    name: str
    version: str
    sha256: str


class PolicyRef(_Out):
    """Which policy table and date a result was assessed under."""

    version: str
    as_of: str
    controlled: bool
    rule_applied: str | None = None


class ScoreResult(_Out):
    """The risk of one supplier."""

    supplier_id: str
    probability: float = Field(ge=0.0, le=1.0, description="calibrated P(disruption in 90 days)")
    risk_score: int = Field(ge=0, le=100, description="round(100 * probability)")
    band: str
    baseline_probability: float
    contributions: list[Contribution]
    reasons: list[str]
    recourse: list[Recourse]
    assumptions: list[str]
    model: ModelRef
    policy: PolicyRef
    scenario: str | None = None
