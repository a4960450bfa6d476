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
# from JP (Shin-Etsu, Proterial, TDK), DE/US (VAC), EE (Neo), US (MP, Noveon).
MAGNET_ORIGINS: dict[str, float] = {
    "CN": 0.86, "JP": 0.05, "DE": 0.02, "US": 0.03, "EE": 0.01, "VN": 0.02, "KR": 0.01,
}  # fmt: skip
# Oxides and metals: China about 91% of separation and refining (IEA); Lynas in MY, MP and
# Energy Fuels in US, Iluka in AU, Solvay in FR, Neo in EE (DOMAIN.md).
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
# Assumption: each alternate covers a failed shipment in time with this probability
# (non-Chinese capacity is growing but small, DOMAIN.md 'Responses').
ALTERNATE_COVER_PROBABILITY = 0.25

# Licence review: 45 working days by law (~63 calendar days) from a complete file; 1 to 1.5
# months typical end to end; one vendor reported 72-83 days (DOMAIN.md 'Licences').
REVIEW_MIN_DAYS = 25.0
REVIEW_GAMMA_SHAPE = 2.5
REVIEW_GAMMA_SCALE = 8.0  # mean 25 + 20 = 45 days, 95th percentile about 65 days
REVIEW_EXTRA_DAYS_SMALLER = 10.0  # assumption: smaller firms and traders file weaker dossiers
# Approval rates over time (DOMAIN.md 'Licences'): about 25% for European auto suppliers in
# early June 2025; about 60% by late summer; just over half of EU files by 2025-11-05; about
# 70% by mid-December 2025; assumption: 75% through 2026.
APPROVAL_CURVE: tuple[tuple[str, float], ...] = (
    ("2025-04-04", 0.25), ("2025-06-10", 0.25), ("2025-08-31", 0.60), ("2025-11-05", 0.55),
    ("2025-12-15", 0.70), ("2026-06-30", 0.75), ("2026-12-31", 0.75),
)  # fmt: skip
# Approval by end use (DOMAIN.md 'Licences'): compliant civil files approved; advanced
# semiconductors case by case; foreign military end users refused in principle.
APPROVAL_FACTOR_BY_END_USE = {
    "consumer_electronics": 1.0, "industrial": 1.0, "medical": 1.0, "automotive": 0.95,
    "renewable_energy": 0.95, "semiconductor": 0.6, "aerospace": 0.7, "defense": 0.05,
}  # fmt: skip
# Assumption: smaller firms and traders lack a compliance record (DOMAIN.md: established
# exporters got general licences first).
APPROVAL_FACTOR_BY_TYPE = {"established": 1.0, "smaller": 0.85, "intermediary": 0.8}
# General licences from 2025-12-02, large established exporters first (DOMAIN.md); assumption
# on the share of licensed flows they cover.
GENERAL_LICENCE_FROM = "2025-12-02"
GENERAL_SHARE = {"established": 0.45, "smaller": 0.05, "intermediary": 0.03}
# Assumption: a general licence is tied to named customers; this share of shipments falls
# outside it and needs an individual licence.
GENERAL_GAP = 0.20
# Assumption: a foreign maker's Chinese feed needs a new licence in the window this often.
UPSTREAM_GAP = 0.15
INDIVIDUAL_APPROVAL_BONUS = 0.15  # assumption: a record of approved files
INDIVIDUAL_HEAD_START_DAYS = 5.0  # assumption: the next file goes in ahead of need
PENDING_ELAPSED_MAX_DAYS = 15.0  # assumption: how far into its review a pending file is
DENIED_FAILURE = 0.9  # assumption: a refused supply rarely finds another licensed route
# Assumption: shares of licence status among licensed flows that are not general.
PENDING_SHARE_EARLY = 0.45  # backlog while approvals ran at about 25% (spring 2025)
PENDING_SHARE_LATE = 0.20
DENIED_SHARE_CIVIL = 0.04
DENIED_SHARE_MILITARY = 0.60
# Assumption: disruptions with no export-control cause (logistics, quality, market).
BASE_RATE = {"established": 0.025, "smaller": 0.045, "intermediary": 0.06}
# May 2025: China's magnet exports fell 74% on a year earlier (DOMAIN.md): customs slowed
# shipments of uncontrolled grades too. Assumption: extra risk for Chinese content then.
SLOWDOWN = ("2025-04-04", "2025-06-30", 0.10)
# Foreign makers hold some stock of Chinese inputs (assumption, days).
UPSTREAM_STOCK_DAYS = 30.0
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
    return np.interp(days.astype(np.int64), x, y)


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
        np.where(is_magnet, "magnet", np.where(np.isin(material, ["la_ce_oxide", "ndpr_oxide",
                                                                   "ndpr_metal"]), "light", "other")),
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
    pending_p = np.where(as_of < np.datetime64("2025-09-01", "D"), PENDING_SHARE_EARLY,
                         PENDING_SHARE_LATE)
    denied_p = np.where(end_use == "defense", DENIED_SHARE_MILITARY, DENIED_SHARE_CIVIL)
    u = rng.random(n)
    status = np.where(
        u < general_p,
        "general",
        np.where(
            u < general_p + (1 - general_p) * denied_p,
            "denied",
            np.where(u < general_p + (1 - general_p) * (denied_p + pending_p), "pending",
                     "individual"),
        ),
    )
    licence = np.where(controlled_now & licensed_route, status, "not_required").astype(object)

    # US military end users are banned (DOMAIN.md); Japanese military users from 2026-01-06.
    military = end_use == "defense"
    banned = military & (
        (destination == "US")
        | ((destination == "JP") & (as_of >= np.datetime64("2026-01-06", "D")))
    )
    licence = np.where(banned & (licence != "not_required"), "denied", licence).astype(object)

    # --- the disruption mechanism -------------------------------------------------------------
    approval = _curve(as_of, APPROVAL_CURVE)
    approval = approval * np.array([APPROVAL_FACTOR_BY_END_USE[e] for e in end_use])
    approval = approval * np.array([APPROVAL_FACTOR_BY_TYPE[t] for t in supplier_type])
    # An individual licence holder has a record of approval and files the next shipment's
    # application ahead of need (assumption).
    holder = licence == "individual"
    approval = np.where(holder, np.minimum(1.0, approval + INDIVIDUAL_APPROVAL_BONUS), approval)
    review = REVIEW_MIN_DAYS + rng.gamma(REVIEW_GAMMA_SHAPE, REVIEW_GAMMA_SCALE, n)
    review = review + np.where(supplier_type == "established", 0.0, REVIEW_EXTRA_DAYS_SMALLER)
    review = review - np.where(holder, INDIVIDUAL_HEAD_START_DAYS, 0.0)
    second_review = REVIEW_MIN_DAYS + rng.gamma(REVIEW_GAMMA_SHAPE, REVIEW_GAMMA_SCALE, n)
    approved = rng.random(n) < approval
    # Days until a licence for the next shipment is in hand: a new application for an
    # individual licence (used up by the shipment it covered) or for a newly controlled
    # material; the rest of the review for a pending one; one refusal costs a second review.
    elapsed = rng.uniform(0, PENDING_ELAPSED_MAX_DAYS, n)
    wait = np.where(licence == "pending", np.maximum(review - elapsed, 0), review)
    wait = np.where(approved, wait, wait + second_review)
    refused_again = ~approved & (rng.random(n) >= approval)
    # Exposure: the share of the content that passes Chinese licensing.
    exposed = rng.random(n) < china_share
    # Which supplies need a new licence inside the window: individual and pending ones; a newly
    # controlled material (April 2025); a general licence that does not cover this customer;
    # a foreign maker whose Chinese feed needs its own licence (with the maker's feed stock).
    newly = ~controlled_now & controlled_later
    route = (licence == "individual") | (licence == "pending") | newly
    route |= (licence == "general") & (rng.random(n) < GENERAL_GAP)
    upstream = (licence == "not_required") & controlled_now & (rng.random(n) < UPSTREAM_GAP)
    needs_licence = exposed & (route | upstream)
    stock = buffer_days + np.where(upstream, UPSTREAM_STOCK_DAYS, 0.0)
    late = wait - stock > LATE_DAYS
    licence_failure = needs_licence & (late | refused_again)
    licence_failure |= exposed & (licence == "denied") & (rng.random(n) < DENIED_FAILURE)
    slow_start, slow_end, slow_p = SLOWDOWN
    in_slowdown = (as_of >= np.datetime64(slow_start, "D")) & (as_of <= np.datetime64(slow_end, "D"))
    slowdown_failure = in_slowdown & exposed & (rng.random(n) < slow_p)
    covered = rng.random(n) < 1 - (1 - ALTERNATE_COVER_PROBABILITY) ** alternates
    base = rng.random(n) < np.array([BASE_RATE[t] for t in supplier_type])
    disrupted = ((licence_failure | slowdown_failure) & ~covered) | base

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
    return table[inverse.reshape(-1), np.array([index[m] for m in material])]


def write_history(config: SimulationConfig, path: Path) -> pd.DataFrame:
    """Simulate and write a training file; return the frame."""
    frame = simulate(config)
    frame.to_csv(path, index=False, lineterminator="\n")
    return frame

