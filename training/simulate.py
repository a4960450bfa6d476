"""The domain simulator: a labelled supplier history in the training-file shape.

Every parameter cites the DOMAIN.md fact it comes from, or says it is an assumption. The
disruption mechanism: a supply whose Chinese content passes through licensing needs an export
licence per shipment; the licence review takes weeks (45 working days by law, 1 to 1.5 months
typical, 72-83 days reported); approval rates rose from about 25% (June 2025) to about 70%
(December 2025); military end users are refused in principle; a delivery is disrupted when it
arrives more than 30 days after the buyer's stock runs out or is refused, unless a qualified
alternate outside China covers it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.record import SUPPLIER_TYPE_ORDER
from supplier_risk.reference import Reference, load_reference

FloatArray = NDArray[np.float64]

# as_of spread over 2025-01 to 2026-12 (issue 3), so that every policy date of DOMAIN.md
# 'The rules, as data' falls inside the history.
AS_OF_START = dt.date(2025, 1, 1)
AS_OF_END = dt.date(2026, 12, 31)

HORIZON_DAYS = 90  # CONTRACT.md section 2: disruption within 90 days after as_of
LATE_DAYS = 30  # CONTRACT.md section 2: a delivery delayed by more than 30 days

# Assumption: the mix of materials on a magnet-heavy buyer's supplier list.
MATERIAL_WEIGHTS: dict[str, float] = {
    "la_ce_oxide": 0.05, "ndpr_oxide": 0.08, "ndpr_metal": 0.05, "ndfeb_magnet": 0.20,
    "ndfeb_magnet_heavy": 0.16, "smco_magnet": 0.05, "sm_metal": 0.02, "gd_oxide": 0.03,
    "tb_oxide": 0.03, "tb_metal": 0.02, "dy_oxide": 0.04, "dy_metal": 0.02, "lu_oxide": 0.01,
    "sc_oxide": 0.02, "y_oxide": 0.04, "ho_oxide": 0.03, "er_oxide": 0.03, "tm_oxide": 0.02,
    "eu_oxide": 0.03, "yb_oxide": 0.02,
}  # fmt: skip

# Origins. Magnets: China makes about 94% of NdFeB (IEA, DOMAIN.md 'Concentration'); the rest
# from JP (Shin-Etsu, Proterial, TDK), DE/US (VAC), EE (Neo), US (MP, Noveon). Assumption: a
# buyer's supplier list is somewhat less concentrated than world output (86% rather than 94%),
# because buyers qualify non-Chinese makers where they can.
MAGNET_ORIGINS: dict[str, float] = {
    "CN": 0.86, "JP": 0.05, "DE": 0.02, "US": 0.03, "EE": 0.01, "VN": 0.02, "KR": 0.01,
}  # fmt: skip
# Oxides and metals: China about 91% of separation and refining (IEA); Lynas in MY, MP and
# Energy Fuels in US, Iluka in AU, Solvay in FR, Neo in EE (DOMAIN.md). Assumption: 82% on a
# supplier list, for the same reason as the magnets.
OXIDE_ORIGINS: dict[str, float] = {
    "CN": 0.82, "MY": 0.07, "US": 0.04, "AU": 0.02, "FR": 0.02, "EE": 0.02, "JP": 0.01,
}  # fmt: skip
# Heavy rare earths (Dy, Tb): China with Myanmar over 90% (DOMAIN.md); Lynas' first separated
# Dy outside China, May 2025.
HEAVY_ORIGINS: dict[str, float] = {"CN": 0.91, "MY": 0.05, "US": 0.02, "FR": 0.02}
HEAVY_MATERIALS = frozenset({"dy_oxide", "dy_metal", "tb_oxide", "tb_metal"})

# Assumption: the buyer's end-use mix (auto and wind are the large magnet users).
END_USE_WEIGHTS: dict[str, float] = {
    "consumer_electronics": 0.14, "industrial": 0.18, "medical": 0.06, "automotive": 0.27,
    "renewable_energy": 0.12, "semiconductor": 0.08, "aerospace": 0.08, "defense": 0.07,
}  # fmt: skip
# Assumption: supplier types; traders are commoner outside China.
SUPPLIER_TYPE_WEIGHTS_CN = (0.55, 0.28, 0.17)
SUPPLIER_TYPE_WEIGHTS_ABROAD = (0.60, 0.15, 0.25)
# Assumption: where buyers receive the material (EU, US, JP, KR auto and electronics makers).
DESTINATIONS: dict[str, float] = {
    "DE": 0.18, "US": 0.20, "JP": 0.14, "KR": 0.08, "FR": 0.07, "IT": 0.05, "GB": 0.05,
    "IN": 0.05, "MX": 0.05, "SE": 0.03, "": 0.10,
}  # fmt: skip

# Inventory: "buyers with a few weeks of stock ran out inside one licence review cycle"
# (DOMAIN.md); assumption: log-normal days of cover, median 45, wide spread.
BUFFER_MEDIAN_DAYS = 45.0
BUFFER_LOG_SIGMA = 0.8
# Assumption: qualified alternates outside China are few, fewest for heavy rare earths.
ALTERNATES_MEAN = {"light": 1.2, "magnet": 0.7, "heavy": 0.3, "other": 0.6}
# Licence review: 45 working days by law (~63 calendar days) from a complete file; 1 to 1.5
# months typical end to end; one vendor reported 72-83 days (DOMAIN.md 'Licences').
# Assumption: review = 25 days + Gamma(2.5, 8): mean 45, 95th percentile about 65 days.
REVIEW_MIN_DAYS = 25.0
REVIEW_GAMMA_SHAPE = 2.5
REVIEW_GAMMA_SCALE = 8.0
PENDING_ELAPSED_DAYS = 7.0  # assumption: a pending file is a week into its review on average
# Approval rates over time (DOMAIN.md 'Licences'): about 25% for European auto suppliers in
# early June 2025; about 60% by late summer; just over half of EU files by 2025-11-05; about
# 70% by mid-December 2025; assumption: 75% through 2026.
APPROVAL_CURVE: tuple[tuple[str, float], ...] = (
    ("2025-04-04", 0.25), ("2025-06-10", 0.25), ("2025-08-31", 0.60), ("2025-11-05", 0.55),
    ("2025-12-15", 0.70), ("2026-06-30", 0.75), ("2026-12-31", 0.75),
)  # fmt: skip
LONG_RUN_APPROVAL = 0.65  # assumption: the average of the curve over the history
# Approval by end use (DOMAIN.md 'Licences'): compliant civil files approved; advanced
# semiconductors case by case; foreign military end users refused in principle. The factors
# themselves are assumptions that keep this order.
APPROVAL_FACTOR_BY_END_USE = {
    "consumer_electronics": 1.0, "industrial": 1.0, "medical": 1.0, "automotive": 0.95,
    "renewable_energy": 0.95, "semiconductor": 0.6, "aerospace": 0.7, "defense": 0.05,
}  # fmt: skip
# General licences from 2025-12-02, large established exporters first (DOMAIN.md); assumption
# on the share of licensed flows they cover.
GENERAL_LICENCE_FROM = "2025-12-02"
# MOFCOM notice of 2026-01-06: no dual-use exports to Japanese military users (DOMAIN.md).
JAPAN_MILITARY_BAN_FROM = "2026-01-06"
GENERAL_SHARE = {"established": 0.45, "smaller": 0.05, "intermediary": 0.03}
# Assumption: shares of licence status among licensed flows that are not general.
PENDING_SHARE_EARLY = 0.45  # backlog while approvals ran at about 25% (spring 2025)
PENDING_SHARE_LATE = 0.20
DENIED_SHARE_CIVIL = 0.04
DENIED_SHARE_MILITARY = 0.60

# Log-odds of each cause (assumptions, chosen so that the positive rate is near 20% and the
# ordering of DOMAIN.md 'What the model should learn' holds). Licence order:
# not_required, general, individual, pending, denied.
BASE_LOGIT = -3.6  # about 2.7%: disruptions with no export-control cause
TYPE_LOGIT = {"established": 0.0, "smaller": 0.45, "intermediary": 0.7}
LICENCE_LOGIT = (0.0, 0.3, 0.9, 1.4, 2.8)
# How much of a full licence cycle each status still has to go through (assumption: a general
# licence leaves about 20% of shipments outside its named customers; a denied one has no
# cycle left to wait for).
LATE_EXPOSURE = (0.0, 0.2, 1.0, 1.0, 0.0)
# Assumptions: the log-odds weight of each cause and how exposed each licence status is to a
# refusal (denied most, pending more than individual); chosen, like the log-odds above, so that
# the positive rate is near 20% and DOMAIN.md's order holds.
LATE_WEIGHT = 2.2
REFUSAL_EXPOSURE = (0.0, 0.2, 0.8, 1.0, 1.2)
REFUSAL_WEIGHT = 2.0
APPROVAL_WEIGHT = 2.5
CONTROLLED_SHARE_WEIGHT = 1.2
UNCONTROLLED_SHARE_WEIGHT = 0.3
# April 2025: Dy and Tb buyers needed no licence on 2025-04-03 and were stopped by June
# (DOMAIN.md 'What disruption looked like'): a list coming into force inside the window. The
# weight is an assumption.
NEWLY_CONTROLLED_WEIGHT = 2.0
# May 2025: China's magnet exports fell 74% on a year earlier (DOMAIN.md): customs slowed
# shipments of uncontrolled grades too; recovery by June-July (DOMAIN.md). Assumption: the
# window ends 2025-06-30 and adds 0.8 log-odds per unit of Chinese content.
SLOWDOWN = ("2025-04-04", "2025-06-30", 0.8)

# Assumption: each alternate covers a failed shipment in time with this probability
# (non-Chinese capacity is growing but small, DOMAIN.md 'Responses').
ALTERNATE_COVER_PROBABILITY = 0.25
MISSING_OPTIONAL_RATE = 0.03  # assumption: share of blank optional cells in an ERP export


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate."""

    rows: int
    seed: int
    start: dt.date = AS_OF_START
    end: dt.date = AS_OF_END


def _choice(rng: np.random.Generator, weights: dict[str, float], n: int) -> NDArray[np.object_]:
    keys = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype=np.float64)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _curve(days: NDArray[np.datetime64], points: tuple[tuple[str, float], ...]) -> FloatArray:
    x = np.array([np.datetime64(d, "D") for d, _ in points]).astype(np.int64)
    y = np.array([v for _, v in points])
    return np.asarray(np.interp(days.astype(np.int64), x, y), dtype=np.float64)


def simulate(config: SimulationConfig, reference: Reference | None = None) -> pd.DataFrame:
    """Return a labelled supplier history; the same seed gives the same rows."""
    ref = reference if reference is not None else load_reference()
    rng = np.random.default_rng(config.seed)
    n = config.rows
    span = (config.end - config.start).days + 1
    as_of = np.datetime64(config.start, "D") + rng.integers(0, span, n).astype("timedelta64[D]")

    material = _choice(rng, MATERIAL_WEIGHTS, n)
    is_magnet = np.array([ref.materials[m].magnet for m in material])
    is_heavy = np.isin(material, list(HEAVY_MATERIALS))
    origin = np.where(
        is_heavy,
        _choice(rng, HEAVY_ORIGINS, n),
        np.where(is_magnet, _choice(rng, MAGNET_ORIGINS, n), _choice(rng, OXIDE_ORIGINS, n)),
    )
    origin_cn = origin == "CN"
    # Chinese content: Chinese makers use Chinese feed; foreign magnet makers buy most of their
    # oxide and metal from China (91% of refining); Lynas-type separators mostly do not.
    # Assumption: the Beta shapes (means 0.95, 0.67 and 0.17).
    china_share = np.where(
        origin_cn,
        np.clip(rng.beta(20, 1, n), 0, 1),
        np.where(is_magnet, rng.beta(4, 2, n), rng.beta(1, 5, n)),
    )
    china_share = np.round(china_share, 3)

    type_cn = rng.choice(3, n, p=SUPPLIER_TYPE_WEIGHTS_CN)
    type_abroad = rng.choice(3, n, p=SUPPLIER_TYPE_WEIGHTS_ABROAD)
    supplier_type = np.array(SUPPLIER_TYPE_ORDER, dtype=object)[
        np.where(origin_cn, type_cn, type_abroad)
    ]
    end_use = _choice(rng, END_USE_WEIGHTS, n)
    destination = _choice(rng, DESTINATIONS, n)
    buffer_days = np.clip(
        np.round(BUFFER_MEDIAN_DAYS * np.exp(BUFFER_LOG_SIGMA * rng.standard_normal(n))), 0, 3650
    )
    group = np.where(
        is_heavy,
        "heavy",
        np.where(
            is_magnet,
            "magnet",
            np.where(
                np.isin(material, ["la_ce_oxide", "ndpr_oxide", "ndpr_metal"]), "light", "other"
            ),
        ),
    )
    alternates = rng.poisson(np.array([ALTERNATES_MEAN[g] for g in group]))

    # Controls in force at as_of, and at the end of the horizon (a list that comes into force
    # inside the window, as in April 2025, hits suppliers that needed no licence at as_of).
    controlled_now = _controlled(ref, material, as_of)
    controlled_later = _controlled(ref, material, as_of + np.timedelta64(HORIZON_DAYS, "D"))
    # A supply needs a Chinese licence when it ships from China, or when a trader abroad
    # re-exports Chinese material (assumption).
    licensed_route = origin_cn | ((supplier_type == "intermediary") & (china_share > 0.5))

    general_open = as_of >= np.datetime64(GENERAL_LICENCE_FROM, "D")
    general_p = np.array([GENERAL_SHARE[t] for t in supplier_type]) * general_open
    pending_p = np.where(
        as_of < np.datetime64("2025-09-01", "D"), PENDING_SHARE_EARLY, PENDING_SHARE_LATE
    )
    denied_p = np.where(end_use == "defense", DENIED_SHARE_MILITARY, DENIED_SHARE_CIVIL)
    u = rng.random(n)
    status = np.where(
        u < general_p,
        "general",
        np.where(
            u < general_p + (1 - general_p) * denied_p,
            "denied",
            np.where(
                u < general_p + (1 - general_p) * (denied_p + pending_p), "pending", "individual"
            ),
        ),
    )
    licence = np.where(controlled_now & licensed_route, status, "not_required").astype(object)

    # US military end users are banned (DOMAIN.md); Japanese military users from 2026-01-06.
    military = end_use == "defense"
    banned = military & (
        (destination == "US")
        | ((destination == "JP") & (as_of >= np.datetime64(JAPAN_MILITARY_BAN_FROM, "D")))
    )
    licence = np.where(banned & (licence != "not_required"), "denied", licence).astype(object)

    # --- the disruption mechanism -------------------------------------------------------------
    # Each cause adds log-odds, so the history has a known structure that the tests can check
    # a model against; each term is computed from a mechanism quantity of DOMAIN.md.
    rank = {
        v: i for i, v in enumerate(("not_required", "general", "individual", "pending", "denied"))
    }
    lic = np.array([rank[v] for v in licence])
    logit = np.full(n, BASE_LOGIT) + np.array([TYPE_LOGIT[t] for t in supplier_type])
    logit += np.array(LICENCE_LOGIT)[lic]
    # Review cycles against buffer days: the chance that the licence for the next shipment
    # arrives more than 30 days after the stock runs out.
    logit += LATE_WEIGHT * np.array(LATE_EXPOSURE)[lic] * _late_probability(buffer_days, licence)
    # Denials for sensitive end uses, sharpest for files still to be decided.
    refusal = np.array([1.0 - APPROVAL_FACTOR_BY_END_USE[e] for e in end_use])
    logit += REFUSAL_WEIGHT * np.array(REFUSAL_EXPOSURE)[lic] * refusal
    # Approval rates over time: below the long-run rate, open files fail more often.
    approval = _curve(as_of, APPROVAL_CURVE)
    logit += APPROVAL_WEIGHT * np.array(REFUSAL_EXPOSURE)[lic] * (LONG_RUN_APPROVAL - approval)
    # Exposure: the Chinese share of the content, weighted by whether licensing applies.
    logit += np.where(controlled_now, CONTROLLED_SHARE_WEIGHT, UNCONTROLLED_SHARE_WEIGHT) * (
        china_share
    )
    newly = ~controlled_now & controlled_later
    logit += NEWLY_CONTROLLED_WEIGHT * newly * china_share
    slow_start, slow_end, slow_weight = SLOWDOWN
    in_slowdown = (as_of >= np.datetime64(slow_start, "D")) & (
        as_of <= np.datetime64(slow_end, "D")
    )
    logit += slow_weight * in_slowdown * china_share
    # Relief from alternates: each covers a failed shipment with probability q, so the odds of
    # no cover fall by a factor (1 - q) per alternate.
    logit += np.log1p(-ALTERNATE_COVER_PROBABILITY) * alternates
    disrupted = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    frame = pd.DataFrame(
        {
            "supplier_id": [f"SIM-{config.seed}-{i:07d}" for i in range(n)],
            "supplier_name": "",
            "material": material,
            "origin_country": origin,
            "china_share": china_share,
            "licence_type": licence,
            "end_use": end_use,
            "inventory_buffer_days": buffer_days.astype(np.int64),
            "alternate_suppliers": alternates.astype(np.int64),
            "supplier_type": supplier_type,
            "destination_country": destination,
            "as_of": pd.to_datetime(as_of).strftime("%Y-%m-%d"),
            "disrupted": disrupted.astype(np.int64),
        }
    )
    # Leave a few optional cells blank, as ERP exports do; the label keeps the true value.
    for column in ("china_share", "alternate_suppliers", "supplier_type"):
        blank = rng.random(n) < MISSING_OPTIONAL_RATE
        frame[column] = frame[column].astype(object)
        frame.loc[blank, column] = ""
    return frame


def _controlled(
    ref: Reference, material: NDArray[np.object_], days: NDArray[np.datetime64]
) -> NDArray[np.bool_]:
    unique_days, inverse = np.unique(days, return_inverse=True)
    codes = list(ref.materials)
    table = np.array(
        [[ref.is_controlled(m, d) for m in codes] for d in unique_days.astype(object)], dtype=bool
    )
    index = {m: i for i, m in enumerate(codes)}
    rows = table[inverse.reshape(-1), np.array([index[m] for m in material])]
    return np.asarray(rows, dtype=bool)


def _late_probability(buffer_days: FloatArray, licence: NDArray[np.object_]) -> FloatArray:
    """Return P(licence wait - buffer > 30 days) under the review-time distribution."""
    from scipy.special import gammaincc

    elapsed = np.where(licence == "pending", PENDING_ELAPSED_DAYS, 0.0)
    gamma_days = buffer_days + LATE_DAYS + elapsed - REVIEW_MIN_DAYS
    x = np.maximum(gamma_days, 0.0) / REVIEW_GAMMA_SCALE
    return np.asarray(gammaincc(REVIEW_GAMMA_SHAPE, x), dtype=np.float64)


def write_history(config: SimulationConfig, path: Path) -> pd.DataFrame:
    """Simulate and write a training file; return the frame."""
    frame = simulate(config)
    frame.to_csv(path, index=False, lineterminator="\n")
    return frame
