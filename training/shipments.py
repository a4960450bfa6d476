"""A second, independent labelled-history generator: shipment by shipment, event by event.

It exists to check that the trainer learns from any history in the contract shape, not only
from the one :mod:`training.simulate` writes. It shares no code, no parameter and no
functional form with that simulator: where ``simulate`` adds log-odds of causes and draws one
Bernoulli label, this generator plays out each supplier's shipments over the 90-day window
(CONTRACT.md section 2) and labels the supplier disrupted when a shipment is refused, or its
licence arrives more than 30 days after the stock runs out, and no alternate rescues it in
time. Risk is therefore a threshold effect of review time against buffer, with interactions
the additive model has to approximate. It also writes the columns in a different order,
leaves optional columns out entirely (supplier_name, destination_country), writes lower-case
country codes and leaves some supplier types blank, as another organisation's export might.

Its control dates are written out here from DOMAIN.md (April 2025 list from 2025-04-04;
October 2025 list suspended throughout), not read from the policy table; everything else is
an assumption chosen to be plausible and different from the main simulator.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

START = dt.date(2025, 2, 1)
END = dt.date(2026, 10, 31)
WINDOW_DAYS = 90
LATE_DAYS = 30
APRIL_LIST_FROM = np.datetime64("2025-04-04", "D")  # DOMAIN.md: Announcement No. 18
GENERAL_FROM = np.datetime64("2025-12-02", "D")  # DOMAIN.md: first general licences

# Assumption: a flatter material mix than the main simulator's, with more oxides.
APRIL_LIST = ("ndfeb_magnet_heavy", "smco_magnet", "sm_metal", "gd_oxide", "tb_oxide", "tb_metal",
              "dy_oxide", "dy_metal", "lu_oxide", "sc_oxide", "y_oxide")  # fmt: skip
OCTOBER_LIST = ("ho_oxide", "er_oxide", "tm_oxide", "eu_oxide", "yb_oxide")
FREE = ("la_ce_oxide", "ndpr_oxide", "ndpr_metal", "ndfeb_magnet")
MATERIALS = FREE + APRIL_LIST + OCTOBER_LIST
ORIGINS = ("cn", "cn", "cn", "cn", "cn", "cn", "my", "us", "jp", "au", "ee", "vn", "th")
END_USES = ("consumer_electronics", "industrial", "medical", "automotive", "renewable_energy",
            "semiconductor", "aerospace", "defense")  # fmt: skip
END_USE_P = (0.16, 0.22, 0.05, 0.22, 0.12, 0.09, 0.08, 0.06)
# Assumption: per-shipment refusal probability of a decided file, by end use.
REFUSAL = {"consumer_electronics": 0.03, "industrial": 0.04, "medical": 0.02,
           "automotive": 0.07, "renewable_energy": 0.06, "semiconductor": 0.2,
           "aerospace": 0.15, "defense": 0.7}  # fmt: skip
# Assumption: median licence waiting time in days by status (lognormal, sigma 0.45); general
# licences clear in days; a pending file sits in a backlog and is refused more often.
MEDIAN_WAIT = {"general": 4.0, "individual": 42.0, "pending": 55.0}
PENDING_REFUSAL_FACTOR = 1.5
WAIT_SIGMA = 0.45
TYPE_SLOWDOWN = {"established": 1.0, "smaller": 1.25, "intermediary": 1.45}
# Assumption: background (non-licence) trouble per shipment rises with Chinese content, more
# steeply during the spring 2025 customs slowdown.
BACKGROUND = 0.01
BACKGROUND_SHARE = 0.05
SPRING_2025 = (np.datetime64("2025-04-04", "D"), np.datetime64("2025-07-15", "D"))
# Assumption: an alternate can only be switched to with two weeks of stock left.
RESCUE_PROBABILITY = 0.3
RESCUE_MIN_BUFFER = 14.0
LABEL_NOISE = 0.02


def generate(rows: int, seed: int) -> pd.DataFrame:
    """Return a labelled history of ``rows`` suppliers in the contract shape."""
    rng = np.random.default_rng(seed)
    n = rows
    span = (END - START).days + 1
    as_of = np.datetime64(START, "D") + rng.integers(0, span, n).astype("timedelta64[D]")
    material = np.array(MATERIALS, dtype=object)[rng.integers(0, len(MATERIALS), n)]
    origin = np.array(ORIGINS, dtype=object)[rng.integers(0, len(ORIGINS), n)]
    from_cn = origin == "cn"
    china_share = np.where(from_cn, rng.uniform(0.85, 1.0, n), rng.uniform(0.0, 0.9, n))
    supplier_type = np.array(list(TYPE_SLOWDOWN), dtype=object)[rng.choice(3, n, p=(0.5, 0.3, 0.2))]
    end_use = np.array(END_USES, dtype=object)[rng.choice(len(END_USES), n, p=END_USE_P)]
    buffer_days = np.round(rng.gamma(2.0, 30.0, n), 1)
    alternates = rng.binomial(4, 0.15, n)

    controlled = np.isin(material, APRIL_LIST) & (as_of >= APRIL_LIST_FROM)
    licensed = controlled & (from_cn | ((supplier_type == "intermediary") & (china_share > 0.6)))
    general_ok = (as_of >= GENERAL_FROM) & (supplier_type == "established")
    u = rng.random(n)
    status = np.where(
        general_ok & (u < 0.5),
        "general",
        np.where(u < 0.62, "individual", np.where(u < 0.92, "pending", "denied")),
    )
    status = np.where(end_use == "defense", np.where(u < 0.5, "denied", status), status)
    licence = np.where(licensed, status, "not_required").astype(object)

    shipments = 1 + rng.poisson(1.5, n)
    slowdown = np.array([TYPE_SLOWDOWN[t] for t in supplier_type])
    refusal = np.array([REFUSAL[e] for e in end_use])
    spring = (as_of >= SPRING_2025[0]) & (as_of <= SPRING_2025[1])
    background = BACKGROUND + BACKGROUND_SHARE * china_share**2 * (1 + 2 * spring)
    disrupted = np.zeros(n, dtype=bool)
    for k in range(int(shipments.max())):
        ships = shipments > k
        # Each later shipment eats a share of the buffer already used by the earlier ones.
        cover = buffer_days / (1 + 0.5 * k)
        median = np.array([MEDIAN_WAIT.get(s, 0.0) for s in licence]) * slowdown
        wait = median * np.exp(WAIT_SIGMA * rng.standard_normal(n))
        late = (licence != "not_required") & (wait > cover + LATE_DAYS)
        open_refusal = np.where(licence == "pending", PENDING_REFUSAL_FACTOR, 1.0) * refusal
        refused = (licence == "denied") | (
            np.isin(licence, ["individual", "pending"]) & (rng.random(n) < open_refusal)
        )
        trouble = rng.random(n) < background
        failed = ships & (late | refused | trouble)
        rescued = (buffer_days >= RESCUE_MIN_BUFFER) & (
            rng.random(n) < 1 - (1 - RESCUE_PROBABILITY) ** alternates
        )
        disrupted |= failed & ~rescued
    flip = rng.random(n) < LABEL_NOISE
    disrupted = disrupted ^ flip

    frame = pd.DataFrame(
        {
            "as_of": pd.to_datetime(as_of).strftime("%Y-%m-%d"),
            "disrupted": disrupted.astype(np.int64),
            "supplier_id": [f"ALT{seed}-{i}" for i in range(n)],
            "material": material,
            "origin_country": origin,
            "licence_type": licence,
            "end_use": end_use,
            "inventory_buffer_days": buffer_days,
            "china_share": np.round(china_share, 2),
            "alternate_suppliers": alternates,
            "supplier_type": supplier_type,
        }
    )
    # Another organisation's export: a few blank optional cells.
    blank = rng.random(n) < 0.05
    frame["supplier_type"] = frame["supplier_type"].where(~blank, "")
    return frame


def write(rows: int, seed: int, path: Path) -> pd.DataFrame:
    """Generate and write a history; return the frame."""
    frame = generate(rows, seed)
    frame.to_csv(path, index=False, lineterminator="\n")
    return frame
