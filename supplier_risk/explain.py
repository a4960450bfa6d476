"""Plain-word reasons for a score, and recourse: the smallest single change that lowers the band."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from supplier_risk.features import RecordColumns
from supplier_risk.record import LICENCE_ORDER

MAX_REASONS = 4

# Candidate values for each actionable field, nearest first; monotone terms make the first
# candidate that reaches a lower band the smallest change that does.
BUFFER_TARGETS: tuple[float, ...] = (30, 45, 60, 90, 120, 180, 270, 365, 540, 730)
"""Days; DOMAIN.md: little protection below one licence cycle (45-60 days), strong beyond 90."""
ALTERNATE_STEPS: tuple[int, ...] = (1, 2, 3, 5, 10)
CHINA_SHARE_TARGETS: tuple[float, ...] = (0.9, 0.75, 0.5, 0.25, 0.1, 0.0)
LICENCE_TARGETS: tuple[str, ...] = ("pending", "individual", "general")
"""Lower licence statuses a buyer can work towards; 'not_required' is reached by China share.
'general' only from the day the policy table says the first general licences were granted, and
only for the supplier types it says can hold one."""


RECOURSE_FIELDS: tuple[str, ...] = (
    "inventory_buffer_days",
    "alternate_suppliers",
    "licence_type",
    "china_share",
)


@dataclass(frozen=True)
class Candidates:
    """Single-field changes to try, one per entry: which record, which field, which value."""

    row: NDArray[np.int64]
    field: NDArray[np.int64]
    """index into RECOURSE_FIELDS"""
    value: NDArray[np.float64]
    """the new value; for licence_type, the index into LICENCE_ORDER"""

    def __len__(self) -> int:
        return int(self.row.shape[0])


def recourse_candidates(
    columns: RecordColumns, china_share: NDArray[np.float64], general: NDArray[np.bool_]
) -> Candidates:
    """Return the changes worth trying for each record, ordered by record, field, then nearness.

    ``general`` says, per record, whether its supplier could hold a general licence on its date
    (features.general_licence_within_reach).
    """
    n = len(columns)
    alternates = np.where(np.isnan(columns.alternates), 0.0, columns.alternates)
    buffer = np.array(BUFFER_TARGETS, dtype=np.float64)
    steps = np.array(ALTERNATE_STEPS, dtype=np.float64)
    licence = np.array([LICENCE_ORDER.index(name) for name in LICENCE_TARGETS], dtype=np.float64)
    share = np.array(CHINA_SHARE_TARGETS, dtype=np.float64)
    # One column per (field, target), in field then nearness order: np.nonzero walks the
    # matrix row by row, so the candidates come out ordered by record, field and nearness.
    values = np.hstack(
        [
            np.broadcast_to(buffer, (n, buffer.size)),
            alternates[:, None] + steps,
            np.broadcast_to(licence, (n, licence.size)),
            np.broadcast_to(share, (n, share.size)),
        ]
    )
    wanted = np.hstack(
        [
            columns.buffer_days[:, None] < buffer,
            alternates[:, None] + steps <= 1000,
            # None could be had before the first were granted (DOMAIN.md: 2025-12-02), nor by
            # smaller firms and traders: they stayed on individual licences.
            (columns.licence[:, None] > licence)
            & ((licence != LICENCE_ORDER.index("general")) | general[:, None]),
            china_share[:, None] > share,
        ]
    )
    field_of = np.repeat(
        np.arange(len(RECOURSE_FIELDS), dtype=np.int64),
        [buffer.size, steps.size, licence.size, share.size],
    )
    row, column = np.nonzero(wanted)
    return Candidates(row.astype(np.int64), field_of[column], values[row, column])


def apply_candidates(columns: RecordColumns, candidates: Candidates) -> RecordColumns:
    """Return one record per candidate: its row of ``columns`` with the one change applied."""
    changed = columns.take(candidates.row)
    value, field = candidates.value, candidates.field
    return changed.replace(
        buffer_days=np.where(field == 0, value, changed.buffer_days),
        alternates=np.where(field == 1, value, changed.alternates),
        licence=np.where(field == 2, value.astype(np.int64), changed.licence),
        china_share=np.where(field == 3, value, changed.china_share),
    )


def first_lowering(
    candidates: Candidates, band: NDArray[np.int64], current_band: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Return, per (record, field), the index of the nearest candidate that lowers the band."""
    lowers = band < current_band[candidates.row]
    hit = np.flatnonzero(lowers)
    if hit.size == 0:
        return hit
    key = candidates.row[hit] * len(RECOURSE_FIELDS) + candidates.field[hit]
    _, first = np.unique(key, return_index=True)
    return hit[first]


@dataclass(slots=True)
class ReasonContext:
    """What a reason may mention about one record.

    Not frozen: a batch builds hundreds, and a frozen dataclass's __init__ costs twice as much.
    """

    material: str
    material_description: str
    control_list: str | None
    controlled: bool
    as_of: str
    licence: str
    end_use: str
    sensitivity: str
    buffer_days: float
    alternates: int
    supplier_type: str
    china_share: float
    rule_applied: str | None


def _days(value: float) -> str:
    return f"{value:g} day" + ("" if value == 1 else "s")


def _licence_reason(c: ReasonContext) -> str:
    raised = f" (raised by the rule {c.rule_applied})" if c.rule_applied else ""
    return {
        "not_required": "No Chinese export licence is needed",
        "general": "Ships under a general licence, which covers only its named customers",
        "individual": "Each shipment needs its own export approval (individual licence), "
        "reviewed for up to 45 working days",
        "pending": "The export licence has been applied for but not granted yet",
        "denied": "The Chinese export licence was refused",
    }[c.licence] + raised


def _share_reason(c: ReasonContext) -> str:
    return f"{round(100 * c.china_share)}% of the rare-earth content is mined or refined in China"


def _controlled_reason(c: ReasonContext) -> str:
    if not c.controlled:
        return f"{c.material_description} is not on a Chinese export-control list on {c.as_of}"
    return (
        f"{c.material_description} is on China's export-control list ({c.control_list}) "
        f"on {c.as_of}"
    )


def _buffer_reason(c: ReasonContext) -> str:
    if not c.controlled:
        # No licence review to outlast for a material no list controls, nor a sale in China.
        return f"Stock covers {'only ' if c.buffer_days < 60 else ''}{_days(c.buffer_days)}"
    if c.buffer_days < 60:
        return (
            f"Stock covers only {_days(c.buffer_days)}, less than one licence review cycle "
            "(about 45-60 days)"
        )
    if c.buffer_days < 90:
        return f"Stock covers {_days(c.buffer_days)}: little margin over one licence review cycle"
    return f"Stock covers {_days(c.buffer_days)}"


def _alternates_reason(c: ReasonContext) -> str:
    if c.alternates == 0:
        return "No qualified alternate supplier outside China"
    plural = "" if c.alternates == 1 else "s"
    return f"Only {c.alternates} qualified alternate supplier{plural} outside China"


def _type_reason(c: ReasonContext) -> str:
    if not c.controlled:
        # Licences do not reach a material no list controls, nor a sale inside China.
        return {
            "established": "An established producer",
            "smaller": "A smaller firm or new entrant",
            "intermediary": "A trader buying from producers: adds a link to the chain",
        }[c.supplier_type]
    return {
        "established": "An established producer",
        "smaller": "A smaller firm or new entrant: general licences went to established "
        "exporters first",
        "intermediary": "A trader buying from producers: stays on per-shipment licences and "
        "adds a link to the chain",
    }[c.supplier_type]


def _end_use_reason(c: ReasonContext) -> str:
    words = c.end_use.replace("_", " ")
    if not c.controlled:
        # No licence review reaches a material no list controls, nor a sale inside China.
        return f"{words.capitalize()} end use, of {c.sensitivity} sensitivity"
    if c.end_use == "defense":
        return "Defense end use: foreign military end users are refused in principle"
    return f"{words.capitalize()} end use is of {c.sensitivity} sensitivity in licence reviews"


LICENCE_PHRASE = {
    "not_required": "no licence needed",
    "general": "a general licence",
    "individual": "an individual licence per shipment",
    "pending": "a licence still pending",
    "denied": "a refused licence",
}


OPEN_LICENCES = frozenset({"individual", "pending", "denied"})
"""Statuses with a licence decision still ahead or against the supply."""


def _licence_end_use_reason(c: ReasonContext) -> str:
    combination = (
        f"{LICENCE_PHRASE[c.licence].capitalize()} for a {c.sensitivity}-sensitivity end use "
        f"({c.end_use.replace('_', ' ')})"
    )
    if c.licence in OPEN_LICENCES and c.sensitivity in ("high", "critical"):
        return f"{combination}: the combination reviewers refuse or delay most"
    # A purified interaction can be slightly positive in a benign cell; say only what it is.
    return f"{combination}: this combination scores above the average supplier's"


def _licence_buffer_reason(c: ReasonContext) -> str:
    combination = (
        f"{_days(c.buffer_days).capitalize()} of stock against {LICENCE_PHRASE[c.licence]}"
    )
    if c.licence in OPEN_LICENCES and c.buffer_days < 90:
        return f"{combination}: stock may run out before the next approval"
    return f"{combination}: this combination scores above the average supplier's"


REASONS: dict[str, Callable[[ReasonContext], str]] = {
    "licence_type": _licence_reason,
    "china_share": _share_reason,
    "controlled": _controlled_reason,
    "inventory_buffer_days": _buffer_reason,
    "alternate_suppliers": _alternates_reason,
    "supplier_type": _type_reason,
    "end_use": _end_use_reason,
    "licence_type x end_use": _licence_end_use_reason,
    "licence_type x inventory_buffer_days": _licence_buffer_reason,
}


def reason_text(term: str, context: ReasonContext) -> str:
    """Return the plain-word reason for one risk-raising term."""
    maker = REASONS.get(term)
    if maker is not None:
        return maker(context)
    parts = [p.strip().replace("_", " ") for p in term.split(" x ")]
    return f"The combination of {' and '.join(parts)} raises the risk"


REASON_MIN_LOGIT = 0.05
"""Smallest contribution (log-odds, about 5% on the odds) worth a reason: below it a term is
noise to a buyer, not a cause."""


def reasons_for(
    term_names: tuple[str, ...], contributions: Sequence[float], context: ReasonContext
) -> list[str]:
    """Return up to MAX_REASONS reasons, from the risk-raising terms only, largest first.

    A term raises the risk enough to be a reason when it adds at least REASON_MIN_LOGIT.
    """
    # Plain Python: on one row of a few terms, a stable sort beats NumPy's call overhead;
    # reverse=True keeps equal contributions in term order, as an ascending sort on minus
    # the contribution does.
    order = sorted(range(len(contributions)), key=contributions.__getitem__, reverse=True)
    out: list[str] = []
    for k in order[:MAX_REASONS]:
        if contributions[k] < REASON_MIN_LOGIT:
            break
        out.append(reason_text(term_names[k], context))
    return out
