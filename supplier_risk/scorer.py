"""The one scoring path of the service, the CLI and the CSV endpoint: records in, results out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from supplier_risk.explain import (
    REASON_MIN_LOGIT,
    RECOURSE_FIELDS,
    Candidates,
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
from supplier_risk.scoring import FloatArray, LoadedModel, Scores, load_model

ResultDict = dict[str, Any]
"""A result shaped as :class:`supplier_risk.results.ScoreResult` (plain data, for speed)."""

_COL = {name: i for i, name in enumerate(FEATURE_NAMES)}
_FIELD = {name: i for i, name in enumerate(RECOURSE_FIELDS)}


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
        self.model_ref: ResultDict = {
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
        n = len(scored.columns)
        changes = self.recourse(scored, today) if recourse else None
        scores, features, columns = scored.scores, scored.features, scored.columns
        # Plain lists, not NumPy scalars: indexing those costs more than the scoring itself.
        probability = scores.probability.tolist()
        labels = self.model.band_labels
        band = [labels[b] for b in scores.band.tolist()]
        contributions = scores.contributions
        contribution_rows = contributions.tolist()
        order_rows = np.argsort(-np.abs(contributions), axis=1, kind="stable").tolist()
        as_of_text = np.datetime_as_string(features.as_of, unit="D").tolist()
        controlled = (features.matrix[:, _COL["controlled"]] > 0.5).tolist()
        rule_applied = features.rule_applied.tolist()
        policy_version = scored.reference.policy.version
        term_names = self.model.term_names
        value_rows = list(zip(*self._term_values(scored), strict=True))
        words = self._reasons(scored, contribution_rows, as_of_text) if reasons else [[]] * n
        assumptions = self._assumptions(scored, today)
        baseline = self.model.baseline_probability
        supplier_id = columns.supplier_id.tolist()
        out: list[ResultDict] = []
        for i in range(n):
            row_contributions = contribution_rows[i]
            row_values = value_rows[i]
            out.append(
                {
                    "supplier_id": supplier_id[i],
                    "probability": probability[i],
                    "risk_score": round(100 * probability[i]),
                    "band": band[i],
                    "baseline_probability": baseline,
                    "contributions": [
                        {
                            "feature": term_names[k],
                            "value": row_values[k],
                            "contribution": row_contributions[k],
                        }
                        for k in order_rows[i]
                    ],
                    "reasons": words[i],
                    "recourse": changes[i] if changes is not None else [],
                    "assumptions": assumptions[i],
                    "model": self.model_ref,
                    "policy": {
                        "version": policy_version,
                        "as_of": as_of_text[i],
                        "controlled": controlled[i],
                        "rule_applied": rule_applied[i],
                    },
                    "scenario": scored.scenario,
                }
            )
        return out

    def _term_values(self, scored: Scored) -> list[list[Any]]:
        """Return, per term, the record's value of its inputs as shown to a person."""
        matrix = scored.features.matrix
        columns = scored.columns
        licence = matrix[:, _COL["licence_type"]].astype(np.int64).tolist()
        supplier_type = matrix[:, _COL["supplier_type"]].astype(np.int64).tolist()
        shown: dict[str, list[Any]] = {
            "china_share": matrix[:, _COL["china_share"]].tolist(),
            "licence_type": [LICENCE_ORDER[v] for v in licence],
            "end_use": [END_USES[v] for v in columns.end_use.tolist()],
            "inventory_buffer_days": matrix[:, _COL["inventory_buffer_days"]].tolist(),
            "alternate_suppliers": matrix[:, _COL["alternate_suppliers"]].astype(np.int64).tolist(),
            "supplier_type": [SUPPLIER_TYPE_ORDER[v] for v in supplier_type],
            "controlled": (matrix[:, _COL["controlled"]] > 0.5).tolist(),
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
        return self.row_context(
            scored.features.matrix[i].tolist(),
            int(scored.columns.material[i]),
            int(scored.columns.end_use[i]),
            as_of,
            scored.features.rule_applied[i],
        )

    def row_context(
        self, row: list[float], material: int, end_use: int, as_of: str, rule: str | None
    ) -> ReasonContext:
        """Return what a reason may say about one feature row and its record's codes."""
        material_row = self._material_rows[material]
        return ReasonContext(
            material=material_row.code,
            material_description=material_row.description,
            control_list=material_row.control_list,
            controlled=row[_COL["controlled"]] > 0.5,
            as_of=as_of,
            licence=LICENCE_ORDER[int(row[_COL["licence_type"]])],
            end_use=END_USES[end_use],
            sensitivity=SENSITIVITY_LEVELS[int(row[_COL["end_use"]])],
            buffer_days=row[_COL["inventory_buffer_days"]],
            alternates=int(row[_COL["alternate_suppliers"]]),
            supplier_type=SUPPLIER_TYPE_ORDER[int(row[_COL["supplier_type"]])],
            china_share=row[_COL["china_share"]],
            rule_applied=rule,
        )

    def _reasons(
        self, scored: Scored, contribution_rows: list[list[float]], as_of_text: list[str]
    ) -> list[list[str]]:
        """Return the plain-word reasons of each row."""
        matrix = scored.features.matrix
        rows = matrix.tolist()
        material = scored.columns.material.tolist()
        end_use = scored.columns.end_use.tolist()
        rule_applied = scored.features.rule_applied.tolist()
        term_names = self.model.term_names
        out: list[list[str]] = []
        for i, row in enumerate(rows):
            if max(contribution_rows[i]) < REASON_MIN_LOGIT:
                out.append([])
                continue
            context = self.row_context(row, material[i], end_use[i], as_of_text[i], rule_applied[i])
            out.append(reasons_for(term_names, contribution_rows[i], context))
        return out

    def _assumptions(self, scored: Scored, today: dt.date) -> list[list[str]]:
        """Return the assumptions each row's score rests on."""
        features, columns = scored.features, scored.columns
        matrix = features.matrix
        share = matrix[:, _COL["china_share"]].tolist()
        licence_now = matrix[:, _COL["licence_type"]].astype(np.int64).tolist()
        licence_given = features.licence_given.tolist()
        origin = columns.origin_country.tolist()
        rows = zip(
            features.china_share_defaulted.tolist(),
            features.alternates_defaulted.tolist(),
            features.supplier_type_defaulted.tolist(),
            features.as_of_defaulted.tolist(),
            features.rule_applied.tolist(),
            features.destination_unknown_rule.tolist(),
            features.policy_note.tolist(),
            strict=True,
        )
        return [
            assumption_lines(
                share_defaulted=share_defaulted,
                origin=origin[i],
                china_share=share[i],
                alternates_defaulted=alternates_defaulted,
                type_defaulted=type_defaulted,
                as_of_defaulted=as_of_defaulted,
                today=today,
                rule_applied=rule,
                licence_given=LICENCE_ORDER[licence_given[i]],
                licence_scored=LICENCE_ORDER[licence_now[i]],
                destination_unknown_rule=unknown_rule,
                policy_note=note,
            )
            for i, (
                share_defaulted,
                alternates_defaulted,
                type_defaulted,
                as_of_defaulted,
                rule,
                unknown_rule,
                note,
            ) in enumerate(rows)
        ]

    def _candidate_matrix(
        self, scored: Scored, candidates: Candidates, today: dt.date
    ) -> FloatArray:
        """Return the feature matrix of every candidate change.

        Buffer and alternates do not enter the policy part of the features (a test checks
        this), so their candidates copy the record's row and change one column; licence and
        China share candidates go through derive_features, where the policy table decides
        what they are scored as.
        """
        matrix = scored.features.matrix[candidates.row]
        field, value = candidates.field, candidates.value
        buffer = field == _FIELD["inventory_buffer_days"]
        matrix[buffer, _COL["inventory_buffer_days"]] = value[buffer]
        alternates = field == _FIELD["alternate_suppliers"]
        matrix[alternates, _COL["alternate_suppliers"]] = value[alternates]
        policy = np.flatnonzero(~(buffer | alternates))
        if policy.size:
            subset = Candidates(candidates.row[policy], field[policy], value[policy])
            changed = apply_candidates(scored.columns, subset)
            matrix[policy] = derive_features(changed, scored.reference, today).matrix
        return matrix

    def recourse(self, scored: Scored, today: dt.date) -> list[list[ResultDict]]:
        """Return, per record, the nearest change to each actionable field that lowers the band."""
        n = len(scored.columns)
        out: list[list[ResultDict]] = [[] for _ in range(n)]
        china_share = scored.features.matrix[:, _COL["china_share"]]
        candidates = recourse_candidates(scored.columns, china_share)
        # A supplier already in the lowest band has no lower band to reach.
        can_lower = (scored.scores.band > 0)[candidates.row]
        if not can_lower.all():
            candidates = Candidates(
                candidates.row[can_lower], candidates.field[can_lower], candidates.value[can_lower]
            )
        if len(candidates) == 0:
            return out
        result = self.model.score(self._candidate_matrix(scored, candidates, today))
        chosen = first_lowering(candidates, result.band, scored.scores.band)
        rows = candidates.row[chosen].tolist()
        fields = candidates.field[chosen].tolist()
        raw_values = candidates.value[chosen].tolist()
        probabilities = result.probability[chosen].tolist()
        bands = result.band[chosen].tolist()
        labels = self.model.band_labels
        for row, field_code, raw, probability, band in zip(
            rows, fields, raw_values, probabilities, bands, strict=True
        ):
            field = RECOURSE_FIELDS[field_code]
            value: float | int | str
            if field == "licence_type":
                value = LICENCE_ORDER[int(raw)]
            elif field == "alternate_suppliers":
                value = int(raw)
            else:
                value = raw
            out[row].append(
                {"change": {field: value}, "probability": probability, "band": labels[band]}
            )
        return out


def assumption_lines(
    *,
    share_defaulted: bool,
    origin: str,
    china_share: float,
    alternates_defaulted: bool,
    type_defaulted: bool,
    as_of_defaulted: bool,
    today: dt.date,
    rule_applied: str | None,
    licence_given: str,
    licence_scored: str,
    destination_unknown_rule: str | None,
    policy_note: str | None,
) -> list[str]:
    """Return, in words, what one record's score assumed (defaults, rules, policy notes)."""
    out: list[str] = []
    if share_defaulted:
        out.append(f"china_share not given: assumed {china_share:g} for origin {origin}")
    if alternates_defaulted:
        out.append("alternate_suppliers not given: assumed 0")
    if type_defaulted:
        out.append("supplier_type not given: assumed established")
    if as_of_defaulted:
        out.append(f"as_of not given: assessed for today, {today.isoformat()}")
    if rule_applied is not None:
        out.append(
            f"licence_type given as {licence_given} but scored as {licence_scored}: "
            f"policy rule {rule_applied} applies"
        )
    if destination_unknown_rule is not None:
        out.append(
            "destination_country not given: the policy rule "
            f"{destination_unknown_rule} would apply if the buyer is in a country it names"
        )
    if policy_note is not None:
        out.append(policy_note)
    return out


def build_scorer(
    model_path: Path, reference_dir: Path | None = None, scenarios_path: Path | None = None
) -> Scorer:
    """Load and verify a model file, reference data and scenarios; fail early and clearly."""
    reference = load_reference(reference_dir)
    scenarios = load_scenarios(scenarios_path)
    scenarios.check_against(reference)
    return Scorer(load_model(model_path), reference, scenarios)
