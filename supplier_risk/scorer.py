"""The one scoring path of the service, the CLI and the CSV endpoint: records in, results out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.explain import (
    MAX_REASONS,
    REASON_MIN_LOGIT,
    RECOURSE_FIELDS,
    Candidates,
    ReasonContext,
    apply_candidates,
    first_lowering,
    reason_text,
    recourse_candidates,
)
from supplier_risk.features import (
    FEATURE_NAMES,
    NOTES_APART,
    Features,
    RecordColumns,
    columns_from_records,
    derive_features,
    general_licence_within_reach,
    share_thresholds,
)
from supplier_risk.json_batch import CanonicalReader
from supplier_risk.reason_keys import context_codes, factor_codes, term_keys
from supplier_risk.record import (
    END_USES,
    LICENCE_ORDER,
    SUPPLIER_TYPE_ORDER,
    SupplierRecord,
    material_context,
)
from supplier_risk.reference import SENSITIVITY_LEVELS, Reference, load_reference
from supplier_risk.result_json import (
    Listed,
    ResultParts,
    ResultWriter,
    Shown,
    day_texts,
    json_text,
    number_texts,
    shown_flags,
    shown_names,
    shown_numbers,
    shown_pair,
)
from supplier_risk.scenarios import ScenarioBook, load_scenarios
from supplier_risk.scoring import FloatArray, LoadedModel, Scores, load_model, sigmoid

ObjArray = NDArray[np.object_]
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
        self.writer = ResultWriter(model, self.model_ref)
        self._change_heads: dict[tuple[int, float], str] = {}
        self.record_context = material_context(reference.materials)
        """validation context: records are checked against the materials served here"""

    @cached_property
    def batch_reader(self) -> CanonicalReader:
        """Reads a canonical JSON batch body in one pass, against the materials served here."""
        return CanonicalReader(self.reference)

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
        parsed: list[ResultDict] = orjson.loads(
            self.results_json(scored, today, reasons=reasons, recourse=recourse)
        )
        return parsed

    def results_json(
        self, scored: Scored, today: dt.date, *, reasons: bool = True, recourse: bool = True
    ) -> str:
        """Return a scored batch's results as a JSON array (reasons and recourse if asked)."""
        return "".join(self.results_pieces(scored, today, reasons=reasons, recourse=recourse))

    def results_pieces(
        self,
        scored: Scored,
        today: dt.date,
        *,
        reasons: bool = True,
        recourse: bool = True,
        before: str = "",
        after: str = "",
    ) -> list[str]:
        """Return texts whose join is ``before``, the results as a JSON array, then ``after``."""
        features = scored.features
        parts = ResultParts(
            supplier_id=scored.columns.supplier_id.tolist(),
            probability=scored.scores.probability,
            band=scored.scores.band,
            contributions=scored.scores.contributions,
            term_values=self._term_values(scored),
            reasons=self.reason_list(scored, MAX_REASONS, json_text) if reasons else None,
            recourse=self.recourse_list(scored, today) if recourse else None,
            assumptions=self._assumptions(scored, today),
            as_of=features.as_of,
            controlled=features.matrix[:, _COL["controlled"]] > 0.5,
            rule_applied=features.rule_applied,
            policy_version=scored.reference.policy.version,
            scenario=scored.scenario,
        )
        return self.writer.pieces(parts, before, after)

    def _term_values(self, scored: Scored) -> list[Shown]:
        """Return, per term, each record's value of the term's inputs as shown to a person."""
        matrix = scored.features.matrix
        shown = {
            "china_share": shown_numbers(matrix[:, _COL["china_share"]]),
            "licence_type": shown_names(
                matrix[:, _COL["licence_type"]].astype(np.int64), LICENCE_ORDER
            ),
            "end_use": shown_names(scored.columns.end_use, END_USES),
            "inventory_buffer_days": shown_numbers(matrix[:, _COL["inventory_buffer_days"]]),
            "alternate_suppliers": shown_numbers(
                matrix[:, _COL["alternate_suppliers"]].astype(np.int64)
            ),
            "supplier_type": shown_names(
                matrix[:, _COL["supplier_type"]].astype(np.int64), SUPPLIER_TYPE_ORDER
            ),
            "controlled": shown_flags(matrix[:, _COL["controlled"]] > 0.5),
        }
        out: list[Shown] = []
        for term in self.model.file.terms:
            if len(term.features) == 1:
                out.append(shown[term.features[0]])
            else:
                first, second = (shown[f] for f in term.features)
                out.append(shown_pair(first, second))
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

    def reason_slots(
        self, scored: Scored, top: int, word: Callable[[str], str] = str
    ) -> tuple[NDArray[np.bool_], ObjArray]:
        """Return each row's first ``top`` reasons, largest first, as :func:`reasons_for` has them.

        Returns which slots hold a reason, shape (n, top), and their texts passed through
        ``word`` ('' where a slot is empty; a slot is empty only after all the full ones).
        """
        listed = self.reason_list(scored, top, word)
        texts = np.array([*listed.texts, ""], dtype=object)[listed.ids]  # -1: the ''
        return listed.ids >= 0, texts

    def reason_list(self, scored: Scored, top: int, word: Callable[[str], str] = str) -> Listed:
        """Return each row's first ``top`` reasons, largest first, as :func:`reasons_for` has them.

        Rows equal in the facts a term's words read share one text, worded (and passed through
        ``word``) once per batch.
        """
        contributions = scored.scores.contributions
        n, terms = contributions.shape
        top = min(top, terms)
        order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
        raising = np.take_along_axis(contributions, order, axis=1) >= REASON_MIN_LOGIT
        ids = np.full((n, top), -1, dtype=np.int64)
        if not raising.any():
            return Listed(ids, [])
        names = self.model.term_names
        codes = context_codes(scored.columns, scored.features)
        # One code per (row, term) that decides the term's words; a slot's situation is its
        # term and that code, found for every slot in one factorisation.
        keys = np.stack(term_keys(names, codes), axis=1)
        bits = max(1, (terms - 1).bit_length())  # room for the term's index in the key
        if int(keys.max()) >= 1 << (62 - bits):  # mixed-radix codes can be large: renumber
            keys = np.stack([factor_codes(column) for column in keys.T], axis=1)
        slot_keys = ((np.take_along_axis(keys, order, axis=1) << bits) | order)[raising]
        group, _ = pd.factorize(slot_keys)
        rows = np.nonzero(raising)[0]
        example = np.empty(int(group.max()) + 1, dtype=np.int64)
        example[group] = np.arange(group.size)  # any slot of a group stands for it
        example_rows = rows[example]
        example_terms = order[raising][example]
        as_of = day_texts(scored.features.as_of[example_rows].view(np.int64))
        words = [
            word(reason_text(names[k], self.reason_context(scored, r, day)))
            for r, k, day in zip(example_rows.tolist(), example_terms.tolist(), as_of, strict=True)
        ]
        ids[raising] = group
        return Listed(ids, words)

    def joined_reasons(
        self, scored: Scored, top: int, separator: str, word: Callable[[str], str] = str
    ) -> ObjArray:
        """Return each row's first ``top`` reasons (through ``word``) joined by ``separator``."""
        raising, picked = self.reason_slots(scored, top, word)
        joined = np.full(len(scored.columns), "", dtype=object)
        gap = np.array(["", separator], dtype=object)
        for slot in range(picked.shape[1]):
            joined = joined + (gap[raising[:, slot].view(np.int8)] if slot else "")
            joined = joined + picked[:, slot]
        return joined

    def _assumptions(self, scored: Scored, today: dt.date) -> list[str]:
        """Return the assumptions each row's score rests on, as a JSON list per row."""
        features, columns = scored.features, scored.columns
        matrix = features.matrix
        notes = (features.rule_applied, features.destination_unknown_rule, features.policy_note)
        needs = (
            features.china_share_defaulted
            | features.alternates_defaulted
            | features.supplier_type_defaulted
            | features.as_of_defaulted
        )
        for column in notes:
            needs |= column != None  # noqa: E711 (elementwise on an object array)
        out = ["[]"] * len(columns)
        # Most rows assume nothing; only the others are put into words, and rows alike in
        # every input assumption_lines reads (most of those) once per batch. A record's share
        # and origin are read only when the share was defaulted, its licences only when a
        # rule changed the licence: elsewhere they are left out of the key (0).
        rows = np.flatnonzero(needs)
        defaulted = features.china_share_defaulted[rows]
        ruled = features.rule_applied[rows] != None  # noqa: E711 (elementwise)
        licence_given = np.where(ruled, features.licence_given[rows], 0)
        licence_scored = np.where(ruled, matrix[rows, _COL["licence_type"]], 0).astype(np.int64)
        inputs = zip(
            defaulted.tolist(),
            np.where(defaulted, columns.origin_country[rows], 0).tolist(),
            np.where(defaulted, matrix[rows, _COL["china_share"]], 0.0).tolist(),
            features.alternates_defaulted[rows].tolist(),
            features.supplier_type_defaulted[rows].tolist(),
            features.as_of_defaulted[rows].tolist(),
            features.rule_applied[rows].tolist(),
            licence_given.tolist(),
            licence_scored.tolist(),
            features.destination_unknown_rule[rows].tolist(),
            features.policy_note[rows].tolist(),
            strict=True,
        )
        written: dict[tuple[Any, ...], str] = {}
        for i, key in zip(rows.tolist(), inputs, strict=True):
            text = written.get(key)
            if text is None:
                share_defaulted, origin, share, alternates, kind, day, rule = key[:7]
                given, scored_as, unknown_rule, note = key[7:]
                text = written[key] = json_text(
                    assumption_lines(
                        share_defaulted=share_defaulted,
                        origin=origin,
                        china_share=share,
                        alternates_defaulted=alternates,
                        type_defaulted=kind,
                        as_of_defaulted=day,
                        today=today,
                        rule_applied=rule,
                        licence_given=LICENCE_ORDER[given],
                        licence_scored=LICENCE_ORDER[scored_as],
                        destination_unknown_rule=unknown_rule,
                        policy_note=note,
                    )
                )
            out[i] = text
        return out

    def _candidate_matrix(
        self, scored: Scored, candidates: Candidates, today: dt.date
    ) -> FloatArray:
        """Return the feature matrix of every candidate change.

        Buffer and alternates do not enter the policy part of the features (a test checks
        this), so their candidates copy the record's row and change one column. So do China
        share candidates on the same side of every extraterritorial threshold as the record:
        the share enters the policy only through those rules' thresholds. Licence candidates,
        and shares across a threshold, go through derive_features, where the policy table
        decides what they are scored as.
        """
        matrix = scored.features.matrix[candidates.row]
        field, value = candidates.field, candidates.value
        buffer = field == _FIELD["inventory_buffer_days"]
        matrix[buffer, _COL["inventory_buffer_days"]] = value[buffer]
        alternates = field == _FIELD["alternate_suppliers"]
        matrix[alternates, _COL["alternate_suppliers"]] = value[alternates]
        share = field == _FIELD["china_share"]
        thresholds = share_thresholds(scored.reference)
        share[share] = np.searchsorted(thresholds, value[share], side="right") == np.searchsorted(
            thresholds, matrix[share, _COL["china_share"]], side="right"
        )
        matrix[share, _COL["china_share"]] = value[share]
        policy = np.flatnonzero(~(buffer | alternates | share))
        if policy.size:
            subset = Candidates(candidates.row[policy], field[policy], value[policy])
            changed = apply_candidates(scored.columns, subset)
            matrix[policy] = derive_features(changed, scored.reference, today).matrix
        return matrix

    def recourse_list(self, scored: Scored, today: dt.date) -> Listed:
        """Return, per record as JSON texts, the nearest change per field that lowers the band."""
        n = len(scored.columns)
        out = Listed(np.full((n, 0), -1, dtype=np.int64), [])
        china_share = scored.features.matrix[:, _COL["china_share"]]
        general = general_licence_within_reach(
            scored.features.as_of,
            scored.features.matrix[:, _COL["supplier_type"]],
            scored.reference,
        )
        candidates = recourse_candidates(scored.columns, china_share, general)
        # A supplier already in the lowest band has no lower band to reach.
        can_lower = (scored.scores.band > 0)[candidates.row]
        if not can_lower.all():
            candidates = Candidates(
                candidates.row[can_lower], candidates.field[can_lower], candidates.value[can_lower]
            )
        if len(candidates) == 0:
            return out
        logit = self.model.rescore_logits(
            self._candidate_matrix(scored, candidates, today),
            scored.features.matrix[candidates.row],
            scored.scores.contributions[candidates.row],
            scored.scores.logit[candidates.row],
        )
        band = self.model.bands_of(logit)
        chosen = first_lowering(candidates, band, scored.scores.band)
        if chosen.size == 0:
            return out
        rows = candidates.row[chosen]  # in record order: first_lowering sorts by record
        heads = self._change_heads
        bands = self.writer.bands
        changes = zip(
            candidates.field[chosen].tolist(), candidates.value[chosen].tolist(), strict=True
        )
        items = [
            f'{heads.get(key) or self._change_head(key)}{probability},"band":{bands[band]}}}'
            for key, probability, band in zip(
                changes,
                number_texts(sigmoid(logit[chosen])),
                band[chosen].tolist(),
                strict=True,
            )
        ]
        # A record's items are consecutive: each goes to the slot of its place among them.
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        place = np.arange(rows.size) - np.repeat(starts, np.diff(np.append(starts, rows.size)))
        ids = np.full((n, int(place.max()) + 1), -1, dtype=np.int64)
        ids[rows, place] = np.arange(rows.size)
        return Listed(ids, items)

    def _change_head(self, key: tuple[int, float]) -> str:
        """Return (and keep) a recourse item's text up to its probability, for one change.

        The changes are few (fixed targets, and alternates up to 1,010), so each is written
        once per model.
        """
        field_code, raw = key
        field = RECOURSE_FIELDS[field_code]
        if field == "licence_type":
            value = json_text(LICENCE_ORDER[int(raw)])
        elif field == "alternate_suppliers":
            value = str(int(raw))
        else:
            value = json_text(raw)
        head = self._change_heads[key] = f'{{"change":{{"{field}":{value}}},"probability":'
        return head


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
        several = ", " in destination_unknown_rule
        out.append(
            f"destination_country not given: the policy rule{'s' if several else ''} "
            f"{destination_unknown_rule} would apply if the buyer is in a country "
            f"{'they name' if several else 'it names'}"
        )
    if policy_note is not None:
        out.extend(policy_note.split(NOTES_APART))
    return out


def build_scorer(
    model_path: Path, reference_dir: Path | None = None, scenarios_path: Path | None = None
) -> Scorer:
    """Load and verify a model file, reference data and scenarios; fail early and clearly."""
    scenarios = load_scenarios(scenarios_path)
    reference = scenarios.served_reference(load_reference(reference_dir))
    return Scorer(load_model(model_path), reference, scenarios)
