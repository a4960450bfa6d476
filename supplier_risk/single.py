"""Score one record in pure Python, for the HTTP service's single-record hot path.

NumPy's per-call overhead dominates a batch of one (about 0.8 ms with explanations), so this
path scores one record with plain Python lookups. It computes no feature of its own: the part
of the features that depends on the policy table (the licence status after the rules, the
controlled flag, the rule applied and the policy notes) comes from
:func:`supplier_risk.features.derive_features`, run once per *policy key* and cached. The key
holds every input that part reads, coarsened only where the policy table itself is coarse:
the date by the table's own boundary dates, ``china_share`` by the rules' thresholds, and the
destination by the countries the table names. A test checks this path against
:meth:`Scorer.score_records` on random records under every scenario.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from supplier_risk.explain import (
    ALTERNATE_STEPS,
    BUFFER_TARGETS,
    CHINA_SHARE_TARGETS,
    LICENCE_TARGETS,
    REASON_MIN_LOGIT,
    reasons_for,
)
from supplier_risk.features import (
    FEATURE_NAMES,
    RecordColumns,
    derive_features,
    general_licence_within_reach,
    policy_boundaries,
    share_thresholds,
)
from supplier_risk.record import (
    ALTERNATES_BOUNDS,
    END_USES,
    LICENCE_ORDER,
    SUPPLIER_TYPE_ORDER,
    SupplierRecord,
    default_china_share,
)
from supplier_risk.reference import Reference
from supplier_risk.scorer import ResultDict, Scorer, assumption_lines
from supplier_risk.scoring import CompiledTerm, least_steps, log_odds, sigmoid_one

ROUNDING = 1e-12
"""Log-odds differences this small are float noise, not a change of risk. Loading refuses a
model that goes against a direction by more than scoring.MONOTONE_TOLERANCE (1e-9); for one
within the two, ``_falling`` says no and this path tries candidates one by one, nearest
first, as the batch does, instead of searching: the answers stay the same."""
MAX_CACHED_OUTCOMES = 50_000
"""Policy keys kept per scenario; the key space of real supplier lists is far smaller."""

_LICENCE_INDEX = {v: i for i, v in enumerate(LICENCE_ORDER)}
_END_USE_INDEX = {v: i for i, v in enumerate(END_USES)}
_TYPE_INDEX = {v: i for i, v in enumerate(SUPPLIER_TYPE_ORDER)}
_LICENCE_TARGET_CODES = tuple(_LICENCE_INDEX[name] for name in LICENCE_TARGETS)
_GENERAL = _LICENCE_INDEX["general"]
_SHARE = FEATURE_NAMES.index("china_share")
_LICENCE = FEATURE_NAMES.index("licence_type")
_CONTROLLED = FEATURE_NAMES.index("controlled")
_BUFFER = FEATURE_NAMES.index("inventory_buffer_days")
_KEY_DAY = 1
_KEY_LICENCE = 4
_KEY_SHARE = 6
"""Positions of the date span, the licence and the China-share bucket in PolicyOutcomes.key."""
_ALTERNATES = FEATURE_NAMES.index("alternate_suppliers")
_SHARE_BIT, _LICENCE_BIT, _CONTROLLED_BIT = 1 << _SHARE, 1 << _LICENCE, 1 << _CONTROLLED
"""Column bits of the terms' inputs that a licence or China-share change can alter."""
_BUFFER_VALUES: tuple[float, ...] = tuple(float(t) for t in BUFFER_TARGETS)
"""The buffer targets as floats; they ascend (nearest first), so those above a buffer are a
suffix."""


class Outcome(NamedTuple):
    """What the policy table makes of one record."""

    licence: int
    controlled: bool
    rule_applied: str | None
    destination_unknown_rule: str | None
    policy_note: str | None


class _Inputs(NamedTuple):
    """One record's coded inputs, defaults filled, before the policy table is applied."""

    material: int
    origin: str
    china_share: float
    licence: int
    end_use: int
    buffer_days: float
    alternates: int
    supplier_type: int
    destination: str | None
    day: dt.date


class PolicyOutcomes:
    """The policy outcome of each policy key under one reference, computed by derive_features."""

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        policy = reference.policy
        self._boundaries: list[dt.date] = policy_boundaries(reference).astype(object).tolist()
        self._thresholds: list[float] = share_thresholds(reference).tolist()
        named = set(policy.targeted_destinations())
        for rule in policy.rules:
            named.update(rule.destination_countries)
        self._countries = frozenset({*named, "CN"})  # CN to CN is a domestic sale
        self._cache: dict[tuple[Any, ...], Outcome] = {}
        self._general: dict[tuple[int, int], bool] = {}
        self.target_buckets = tuple(self.share_bucket(t) for t in CHINA_SHARE_TARGETS)
        """The China-share bucket of each of CHINA_SHARE_TARGETS."""

    def key(self, inputs: _Inputs) -> tuple[Any, ...]:
        """Return the inputs the policy part of the features reads, coarsened exactly."""
        destination = inputs.destination
        if destination is not None and destination not in self._countries:
            destination = ""  # any country the table does not name behaves the same
        return (
            inputs.material,
            bisect_right(self._boundaries, inputs.day),
            destination,
            inputs.origin == "CN",
            inputs.licence,
            inputs.end_use,
            self.share_bucket(inputs.china_share),
            inputs.supplier_type,  # a general licence claimed by a non-holder gets a note
        )

    @staticmethod
    def key_with(key: tuple[Any, ...], position: int, value: Any) -> tuple[Any, ...]:
        """Return a policy key with one input replaced: the key of the record so changed."""
        return (*key[:position], value, *key[position + 1 :])

    def share_bucket(self, china_share: float) -> int:
        """Return which side of each rule's China-share threshold a share is on."""
        return bisect_right(self._thresholds, china_share)

    def cached(self, key: tuple[Any, ...]) -> Outcome | None:
        """Return the outcome of a policy key if it was derived already."""
        return self._cache.get(key)

    def outcome(self, inputs: _Inputs) -> Outcome:
        """Return the policy outcome of a record (cached by its policy key)."""
        return self.outcome_of(self.key(inputs), inputs)

    def outcome_of(self, key: tuple[Any, ...], inputs: _Inputs) -> Outcome:
        """Return the policy outcome of a record whose policy key is ``key``."""
        found = self._cache.get(key)
        if found is None:
            found = self._derive(inputs)
            if len(self._cache) >= MAX_CACHED_OUTCOMES:
                self._cache.clear()
            self._cache[key] = found
        return found

    def general_within_reach(self, key: tuple[Any, ...], inputs: _Inputs) -> bool:
        """Return whether the record's supplier could hold a general licence on its date.

        Asked of :func:`supplier_risk.features.general_licence_within_reach`, as the batch
        asks it, and cached by date span and supplier type: the day the first were granted
        is one of the table's boundary dates, so the answer is one within a span.
        """
        span = (key[_KEY_DAY], inputs.supplier_type)
        found = self._general.get(span)
        if found is None:
            found = bool(
                general_licence_within_reach(
                    np.array([np.datetime64(inputs.day, "D")], dtype="datetime64[D]"),
                    np.array([float(inputs.supplier_type)], dtype=np.float64),
                    self.reference,
                )[0]
            )
            self._general[span] = found
        return found

    def _derive(self, inputs: _Inputs) -> Outcome:
        columns = RecordColumns(
            supplier_id=np.array(["probe"], dtype=object),
            material=np.array([inputs.material], dtype=np.int64),
            origin_country=np.array([inputs.origin], dtype=object),
            china_share=np.array([inputs.china_share], dtype=np.float64),
            licence=np.array([inputs.licence], dtype=np.int64),
            end_use=np.array([inputs.end_use], dtype=np.int64),
            buffer_days=np.array([inputs.buffer_days], dtype=np.float64),
            alternates=np.array([float(inputs.alternates)], dtype=np.float64),
            supplier_type=np.array([inputs.supplier_type], dtype=np.int64),
            destination_country=np.array([inputs.destination], dtype=object),
            as_of=np.array([np.datetime64(inputs.day, "D")], dtype="datetime64[D]"),
        )
        features = derive_features(columns, self.reference, inputs.day)
        return Outcome(
            licence=int(features.matrix[0, 1]),
            controlled=bool(features.matrix[0, 6] > 0.5),
            rule_applied=features.rule_applied[0],
            destination_unknown_rule=features.destination_unknown_rule[0],
            policy_note=features.policy_note[0],
        )


class SingleScorer:
    """Scores one validated record at a time; same results as Scorer.score_records."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.model = scorer.model
        self._outcomes: dict[str | None, PolicyOutcomes] = {}
        self._material_index = {code: i for i, code in enumerate(scorer.reference.materials)}
        self._rank = {e: scorer.reference.sensitivity_rank(e) for e in END_USES}
        self._uses = [
            tuple(k for k, term in enumerate(self.model.terms) if c in term.columns)
            for c in range(len(FEATURE_NAMES))
        ]
        self._lookups = [_lookup(term) for term in self.model.terms]
        self._shown_terms = [
            (features[0], None if len(features) == 1 else features[1])
            for features in (term.features for term in self.model.file.terms)
        ]
        self._uses_by_mask: dict[int, tuple[int, ...]] = {}
        # Whether the risk never rises as an input rises (beyond float noise): then the
        # changes that lower the band are a suffix of the targets, found by bisection.
        self._falling = [
            bool(least_steps(self.model.terms, c, -1)[1].min(initial=0.0) >= -ROUNDING)
            for c in range(len(FEATURE_NAMES))
        ]
        self.outcomes_for(None)

    def outcomes_for(self, scenario: str | None) -> PolicyOutcomes:
        """Return the policy outcomes of a scenario (raises UnknownScenarioError)."""
        found = self._outcomes.get(scenario)
        if found is None:
            found = PolicyOutcomes(self.scorer.reference_for(scenario))
            self._outcomes[scenario] = found
        return found

    def warm(self) -> None:
        """Compute every scenario's policy tables now, so no request pays for it."""
        for name in self.scorer.scenarios.names():
            self.outcomes_for(name)

    def _row(self, inputs: _Inputs, outcome: Outcome) -> list[float]:
        return [
            inputs.china_share,
            float(outcome.licence),
            float(self._rank[END_USES[inputs.end_use]]),
            inputs.buffer_days,
            float(inputs.alternates),
            float(inputs.supplier_type),
            1.0 if outcome.controlled else 0.0,
        ]

    def score(
        self,
        record: SupplierRecord,
        today: dt.date,
        *,
        explain: bool = True,
        scenario: str | None = None,
    ) -> ResultDict:
        """Score one record; the result has the shape of :class:`ScoreResult`."""
        outcomes = self.outcomes_for(scenario)
        model = self.model
        share_given = record.china_share
        alternates_given = record.alternate_suppliers
        type_given = record.supplier_type
        day = record.as_of if record.as_of is not None else today
        inputs = _Inputs(  # positional: a third cheaper than by keyword, in _Inputs' order
            self._material_index[record.material],
            record.origin_country,
            default_china_share(record.origin_country) if share_given is None else share_given,
            _LICENCE_INDEX[record.licence_type],
            _END_USE_INDEX[record.end_use],
            float(record.inventory_buffer_days),
            0 if alternates_given is None else alternates_given,
            0 if type_given is None else _TYPE_INDEX[type_given],
            record.destination_country,
            day,
        )
        key = outcomes.key(inputs)
        outcome = outcomes.outcome_of(key, inputs)
        row = self._row(inputs, outcome)
        contributions = [lookup(row) for lookup in self._lookups]
        probability = sigmoid_one(log_odds(model.intercept, contributions))
        band_index = bisect_right(model.thresholds_list, probability)
        band = model.band_labels[band_index]
        as_of = day.isoformat()
        licence_label = LICENCE_ORDER[outcome.licence]
        end_use_label = END_USES[inputs.end_use]
        shown: dict[str, Any] = {
            "china_share": inputs.china_share,
            "licence_type": licence_label,
            "end_use": end_use_label,
            "inventory_buffer_days": inputs.buffer_days,
            "alternate_suppliers": inputs.alternates,
            "supplier_type": SUPPLIER_TYPE_ORDER[inputs.supplier_type],
            "controlled": outcome.controlled,
        }
        term_names = model.term_names
        values = [
            shown[first] if second is None else f"{shown[first]}, {shown[second]}"
            for first, second in self._shown_terms
        ]
        # Largest effect first; reverse=True keeps equal sizes in term order, as a stable
        # ascending sort by -abs(contribution) does.
        sizes = list(map(abs, contributions))
        order = sorted(range(len(contributions)), key=sizes.__getitem__, reverse=True)
        reasons: list[str] = []
        recourse: list[ResultDict] = []
        if explain:
            # else no term is worth a reason (a model of its intercept alone has none)
            if max(contributions, default=-math.inf) >= REASON_MIN_LOGIT:
                context = self.scorer.row_context(
                    row, inputs.material, inputs.end_use, as_of, outcome.rule_applied
                )
                reasons = reasons_for(term_names, contributions, context)
            if band_index:
                recourse = self._recourse(inputs, outcomes, key, row, contributions, band_index)
        reference = outcomes.reference
        return {
            "supplier_id": record.supplier_id,
            "probability": probability,
            "risk_score": round(100 * probability),
            "band": band,
            "baseline_probability": model.baseline_probability,
            "contributions": [
                {"feature": term_names[k], "value": values[k], "contribution": contributions[k]}
                for k in order
            ],
            "reasons": reasons,
            "recourse": recourse,
            "assumptions": assumption_lines(
                share_defaulted=share_given is None,
                origin=record.origin_country,
                china_share=inputs.china_share,
                alternates_defaulted=alternates_given is None,
                type_defaulted=type_given is None,
                as_of_defaulted=record.as_of is None,
                today=today,
                rule_applied=outcome.rule_applied,
                licence_given=LICENCE_ORDER[inputs.licence],
                licence_scored=licence_label,
                destination_unknown_rule=outcome.destination_unknown_rule,
                policy_note=outcome.policy_note,
            ),
            "model": self.scorer.model_ref,
            "policy": {
                "version": reference.policy.version,
                "as_of": as_of,
                "controlled": outcome.controlled,
                "rule_applied": outcome.rule_applied,
            },
            "scenario": scenario,
        }

    def _recourse(
        self,
        inputs: _Inputs,
        outcomes: PolicyOutcomes,
        key: tuple[Any, ...],
        row: list[float],
        contributions: list[float],
        band: int,
    ) -> list[ResultDict]:
        """Return the nearest lowering change of each actionable field (as Scorer.recourse_list).

        Candidates are tried nearest first and the first that lowers the band (above the
        lowest) is kept, as :func:`supplier_risk.explain.first_lowering` does for a batch.
        Only the terms whose inputs a candidate changes are looked up again; where risk never
        rises along a field's values, the first that lowers the band is found by bisection.
        ``key`` is the record's policy key.
        """
        out: list[ResultDict] = []
        lookups = self._lookups
        labels = self.model.band_labels
        thresholds = self.model.thresholds_list
        intercept = self.model.intercept

        def evaluate(changed_row: list[float], uses: tuple[int, ...]) -> tuple[float, int]:
            changed = contributions.copy()
            for k in uses:
                changed[k] = lookups[k](changed_row)
            # Summed in full, as for a record: a candidate's probability is then, to the last
            # bit, what scoring the changed record gives (and what a batch says).
            probability = sigmoid_one(log_odds(intercept, changed))
            return probability, bisect_right(thresholds, probability)

        def lowers(changed_row: list[float], uses: tuple[int, ...], field: str, value: Any) -> bool:
            probability, lowered = evaluate(changed_row, uses)
            if lowered >= band:
                return False
            out.append(
                {"change": {field: value}, "probability": probability, "band": labels[lowered]}
            )
            return True

        # Buffer and alternates do not enter the policy part of the features: change the row.
        buffer = _BUFFER_VALUES[bisect_right(_BUFFER_VALUES, inputs.buffer_days) :]
        alternates = [
            inputs.alternates + step
            for step in ALTERNATE_STEPS
            if inputs.alternates + step <= ALTERNATES_BOUNDS[1]
        ]
        for column, field, values in (
            (_BUFFER, "inventory_buffer_days", buffer),
            (_ALTERNATES, "alternate_suppliers", alternates),
        ):
            changed_row = row.copy()
            uses = self._uses[column]
            if not self._falling[column]:
                for value in values:
                    changed_row[column] = float(value)
                    if lowers(changed_row, uses, field, value):
                        break
                continue
            # Risk never rises along these values (checked on the model's tables at start),
            # so the values that lower the band are a suffix: find its start by bisection,
            # trying the farthest value first (where it does not lower the band, none does).
            low, high, found = 0, len(values), None
            middle = high - 1
            while low < high:
                changed_row[column] = float(values[middle])
                probability, lowered = evaluate(changed_row, uses)
                if lowered < band:
                    found, high = (values[middle], probability, lowered), middle
                else:
                    low = middle + 1
                middle = (low + high) // 2
            if found is not None:
                value, probability, lowered = found
                out.append(
                    {"change": {field: value}, "probability": probability, "band": labels[lowered]}
                )
        # Licence and China share do: the policy table decides what they are scored as. Their
        # policy keys differ from the record's in one place (see PolicyOutcomes.key).
        # One changed row serves every candidate of a field: each sets all it changes.
        changed_row = row.copy()
        # Before the first general licences none could be had, nor by every kind of supplier
        # (the batch's predicate, as recourse_candidates is given it).
        no_general = not outcomes.general_within_reach(key, inputs)
        for code in _LICENCE_TARGET_CODES:
            if inputs.licence > code and not (no_general and code == _GENERAL):
                outcome = outcomes.cached(outcomes.key_with(key, _KEY_LICENCE, code))
                if outcome is None:
                    outcome = outcomes.outcome(inputs._replace(licence=code))
                changed_row[_LICENCE] = float(outcome.licence)
                changed_row[_CONTROLLED] = 1.0 if outcome.controlled else 0.0
                uses = self._policy_uses(row, changed_row, 0)
                if lowers(changed_row, uses, "licence_type", LICENCE_ORDER[code]):
                    break
        # Targets in one China-share bucket have one policy outcome: look it up once.
        changed_row = row.copy()
        last_bucket = -1
        for target, bucket in zip(CHINA_SHARE_TARGETS, outcomes.target_buckets, strict=True):
            if inputs.china_share > target:
                share = float(target)
                changed_row[_SHARE] = share
                if bucket != last_bucket:
                    outcome = outcomes.cached(outcomes.key_with(key, _KEY_SHARE, bucket))
                    if outcome is None:
                        outcome = outcomes.outcome(inputs._replace(china_share=share))
                    changed_row[_LICENCE] = float(outcome.licence)
                    changed_row[_CONTROLLED] = 1.0 if outcome.controlled else 0.0
                    uses = self._policy_uses(row, changed_row, _SHARE_BIT)
                    last_bucket = bucket
                if lowers(changed_row, uses, "china_share", share):
                    break
        return out

    def _policy_uses(
        self, row: list[float], changed_row: list[float], mask: int
    ) -> tuple[int, ...]:
        """Return the terms that read an input that differs between two rows.

        The rows may differ only in the licence, the controlled flag and the inputs in
        ``mask`` (a bit per column, set where they do differ).
        """
        if changed_row[_LICENCE] != row[_LICENCE]:
            mask |= _LICENCE_BIT
        if changed_row[_CONTROLLED] != row[_CONTROLLED]:
            mask |= _CONTROLLED_BIT
        found = self._uses_by_mask.get(mask)
        if found is None:
            terms = {k for c, uses in enumerate(self._uses) if mask >> c & 1 for k in uses}
            found = self._uses_by_mask[mask] = tuple(sorted(terms))
        return found


def _lookup(term: CompiledTerm) -> Callable[[list[float]], float]:
    """Return a function giving a term's value for one feature row (as lookup_one, faster)."""
    if len(term.columns) == 1:
        (column,) = term.columns
        (edges,) = term.edges_list
        flat: list[float] = term.values_list  # type: ignore[assignment]
        return lambda row: flat[bisect_left(edges, row[column])]
    first, second = term.columns
    first_edges, second_edges = term.edges_list
    table: list[list[float]] = term.values_list  # type: ignore[assignment]
    return lambda row: table[bisect_left(first_edges, row[first])][
        bisect_left(second_edges, row[second])
    ]
