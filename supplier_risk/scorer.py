"""The one scoring path of the service, the CLI and the CSV endpoint: records in, results out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from supplier_risk.explain import (
    RECOURSE_FIELDS,
    ReasonContext,
    apply_candidates,
    first_lowering,
    reasons_for,
    recourse_candidates,
)
from supplier_risk.features import (
    FEATURE_NAMES,
    Features,
    RecordColumns,
    columns_from_records,
    derive_features,
)
from supplier_risk.record import END_USES, LICENCE_ORDER, SUPPLIER_TYPE_ORDER, SupplierRecord
from supplier_risk.reference import SENSITIVITY_LEVELS, Reference, load_reference
from supplier_risk.scenarios import ScenarioBook, load_scenarios
from supplier_risk.scoring import LoadedModel, Scores, load_model

ResultDict = dict[str, Any]
"""A result shaped as :class:`supplier_risk.results.ScoreResult` (plain data, for speed)."""

_COL = {name: i for i, name in enumerate(FEATURE_NAMES)}


@dataclass(frozen=True)
class Scored:
    """A scored batch: the derived features, the scores and the reference data used."""

    columns: RecordColumns
    features: Features
    scores: Scores
    reference: Reference
    scenario: str | None


class Scorer:
    """A loaded model with its reference data and scenarios: scores columns or records."""

    def __init__(
        self, model: LoadedModel, reference: Reference, scenarios: ScenarioBook | None = None
    ) -> None:
        self.model = model
        self.reference = reference
        self.scenarios = scenarios if scenarios is not None else ScenarioBook.empty()
        self._material_rows = list(reference.materials.values())
        self._model_ref = {
            "name": model.file.name,
            "version": model.version,
            "sha256": model.sha256,
        }

    def reference_for(self, scenario: str | None) -> Reference:
        """Return the reference data a scenario implies (raises UnknownScenarioError)."""
        if scenario is None:
            return self.reference
        return self.scenarios.reference_for(scenario, self.reference)

    def score_columns(
        self, columns: RecordColumns, today: dt.date, scenario: str | None = None
    ) -> Scored:
        """Score coded records, vectorised."""
        reference = self.reference_for(scenario)
        features = derive_features(columns, reference, today)
        return Scored(columns, features, self.model.score(features.matrix), reference, scenario)

    def score_records(
        self,
        records: Sequence[SupplierRecord],
        today: dt.date,
        *,
        explain: bool = True,
        scenario: str | None = None,
    ) -> list[ResultDict]:
        """Score validated records and return one result each, in order."""
        columns = columns_from_records(records, self.reference)
        scored = self.score_columns(columns, today, scenario)
        return self.results(scored, today, reasons=explain, recourse=explain)

    def results(
        self, scored: Scored, today: dt.date, *, reasons: bool = True, recourse: bool = True
    ) -> list[ResultDict]:
        """Shape a scored batch as contract results (reasons and recourse only when asked)."""
        changes = (
            self.recourse(scored, today) if recourse else [[] for _ in range(len(scored.columns))]
        )
        scores, features, columns = scored.scores, scored.features, scored.columns
        probability = scores.probability.tolist()
        band = scores.band.tolist()
        contributions = scores.contributions
        order = np.argsort(-np.abs(contributions), axis=1, kind="stable")
        matrix = features.matrix
        as_of_text = np.datetime_as_string(features.as_of, unit="D").tolist()
        controlled = matrix[:, _COL["controlled"]] > 0.5
        policy_version = scored.reference.policy.version
        term_names = self.model.term_names
        values = self._term_values(scored)
        out: list[ResultDict] = []
        for i in range(len(columns)):
            row_contributions = contributions[i]
            ordered = [
                {
                    "feature": term_names[k],
                    "value": values[k][i],
                    "contribution": float(row_contributions[k]),
                }
                for k in order[i]
            ]
            words = (
                reasons_for(term_names, row_contributions, self._context(scored, i, as_of_text[i]))
                if reasons
                else []
            )
            out.append(
                {
                    "supplier_id": columns.supplier_id[i],
                    "probability": probability[i],
                    "risk_score": round(100 * probability[i]),
                    "band": self.model.band_labels[band[i]],
                    "baseline_probability": self.model.baseline_probability,
                    "contributions": ordered,
                    "reasons": words,
                    "recourse": changes[i],
                    "assumptions": self._assumptions(scored, i, today, as_of_text[i]),
                    "model": self._model_ref,
                    "policy": {
                        "version": policy_version,
                        "as_of": as_of_text[i],
                        "controlled": bool(controlled[i]),
                        "rule_applied": features.rule_applied[i],
                    },
                    "scenario": scored.scenario,
                }
            )
        return out

    def _term_values(self, scored: Scored) -> list[list[Any]]:
        """Return, per term, the record's value of its inputs as shown to a person."""
        matrix = scored.features.matrix
        columns = scored.columns
        shown: dict[str, list[Any]] = {
            "china_share": matrix[:, _COL["china_share"]].tolist(),
            "licence_type": [LICENCE_ORDER[int(v)] for v in matrix[:, _COL["licence_type"]]],
            "end_use": [END_USES[int(v)] for v in columns.end_use],
            "inventory_buffer_days": matrix[:, _COL["inventory_buffer_days"]].tolist(),
            "alternate_suppliers": [int(v) for v in matrix[:, _COL["alternate_suppliers"]]],
            "supplier_type": [
                SUPPLIER_TYPE_ORDER[int(v)] for v in matrix[:, _COL["supplier_type"]]
            ],
            "controlled": [bool(v) for v in matrix[:, _COL["controlled"]] > 0.5],
        }
        out: list[list[Any]] = []
        for term in self.model.file.terms:
            if len(term.features) == 1:
                out.append(shown[term.features[0]])
            else:
                a, b = (shown[f] for f in term.features)
                out.append([f"{x}, {y}" for x, y in zip(a, b, strict=True)])
        return out

    def reason_context(self, scored: Scored, i: int, as_of: str) -> ReasonContext:
        """Return what a reason may say about row ``i`` of a scored batch (for batch reasons)."""
        return self._context(scored, i, as_of)

    def _context(self, scored: Scored, i: int, as_of: str) -> ReasonContext:
        row = scored.features.matrix[i]
        material = self._material_rows[int(scored.columns.material[i])]
        end_use = END_USES[int(scored.columns.end_use[i])]
        return ReasonContext(
            material=material.code,
            material_description=material.description,
            control_list=material.control_list,
            controlled=bool(row[_COL["controlled"]] > 0.5),
            as_of=as_of,
            licence=LICENCE_ORDER[int(row[_COL["licence_type"]])],
            end_use=end_use,
            sensitivity=SENSITIVITY_LEVELS[int(row[_COL["end_use"]])],
            buffer_days=float(row[_COL["inventory_buffer_days"]]),
            alternates=int(row[_COL["alternate_suppliers"]]),
            supplier_type=SUPPLIER_TYPE_ORDER[int(row[_COL["supplier_type"]])],
            china_share=float(row[_COL["china_share"]]),
            rule_applied=scored.features.rule_applied[i],
        )

    def _assumptions(self, scored: Scored, i: int, today: dt.date, as_of: str) -> list[str]:
        features, columns = scored.features, scored.columns
        out: list[str] = []
        if features.china_share_defaulted[i]:
            origin = columns.origin_country[i]
            share = features.matrix[i, _COL["china_share"]]
            out.append(f"china_share not given: assumed {share:g} for origin {origin}")
        if features.alternates_defaulted[i]:
            out.append("alternate_suppliers not given: assumed 0")
        if features.supplier_type_defaulted[i]:
            out.append("supplier_type not given: assumed established")
        if features.as_of_defaulted[i]:
            out.append(f"as_of not given: assessed for today, {today.isoformat()}")
        if features.rule_applied[i] is not None:
            given = LICENCE_ORDER[int(features.licence_given[i])]
            now = LICENCE_ORDER[int(features.matrix[i, _COL["licence_type"]])]
            out.append(
                f"licence_type given as {given} but scored as {now}: "
                f"policy rule {features.rule_applied[i]} applies"
            )
        if features.destination_unknown_rule[i] is not None:
            out.append(
                "destination_country not given: the policy rule "
                f"{features.destination_unknown_rule[i]} would apply if the buyer is in a "
                "country it names"
            )
        if features.policy_note[i] is not None:
            out.append(features.policy_note[i])
        return out

    def recourse(self, scored: Scored, today: dt.date) -> list[list[ResultDict]]:
        """Return, per record, the nearest change to each actionable field that lowers the band."""
        n = len(scored.columns)
        out: list[list[ResultDict]] = [[] for _ in range(n)]
        china_share = scored.features.matrix[:, _COL["china_share"]]
        candidates = recourse_candidates(scored.columns, china_share)
        if len(candidates) == 0:
            return out
        changed = apply_candidates(scored.columns, candidates)
        features = derive_features(changed, scored.reference, today)
        result = self.model.score(features.matrix)
        chosen = first_lowering(candidates, result.band, scored.scores.band)
        for k in chosen.tolist():
            field = RECOURSE_FIELDS[int(candidates.field[k])]
            raw = float(candidates.value[k])
            value: float | int | str
            if field == "licence_type":
                value = LICENCE_ORDER[int(raw)]
            elif field == "alternate_suppliers":
                value = int(raw)
            else:
                value = raw
            out[int(candidates.row[k])].append(
                {
                    "change": {field: value},
                    "probability": float(result.probability[k]),
                    "band": self.model.band_labels[int(result.band[k])],
                }
            )
        return out


def contributions_total(result: ResultDict) -> float:
    """Return the sum of a result's contributions (for checks)."""
    return float(sum(c["contribution"] for c in result["contributions"]))


def bands_of(scored: Scored, labels: tuple[str, ...]) -> NDArray[np.object_]:
    """Return the band label of each scored row."""
    return np.asarray(labels, dtype=object)[scored.scores.band]


def build_scorer(
    model_path: Path, reference_dir: Path | None = None, scenarios_path: Path | None = None
) -> Scorer:
    """Load and verify a model file, reference data and scenarios; fail early and clearly."""
    reference = load_reference(reference_dir)
    scenarios = load_scenarios(scenarios_path)
    scenarios.check_against(reference)
    return Scorer(load_model(model_path), reference, scenarios)
