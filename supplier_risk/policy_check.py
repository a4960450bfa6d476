"""Checks of a policy table that its schema cannot express: names, dates and codes in order.

A table that passes the schema but breaks one of these used to load and then either crash every
score (an end use the feature path cannot code) or silently do nothing (a suspension that ends
before it starts, a country code no record carries). The reference loader and the scenario book
run these on every policy table they serve, the shipped one and each scenario's patched copy.

Country codes must be written as the countries table has them (upper case): records are
normalised because they come in bulk from users' spreadsheets, but a policy file is curated by
hand and small, so refusing 'jp' (and saying to write 'JP') keeps the file literally what is
applied, and what the notes and reasons quote.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

from supplier_risk.errors import ReferenceDataError
from supplier_risk.record import END_USES, country_codes

if TYPE_CHECKING:
    from supplier_risk.reference import Dated, PolicyTable, Rule

_SHARE_BOUNDS = (0.0, 1.0)
_USED_BY = {
    "threshold_china_share": "extraterritorial",
    "destination_countries": "destination_end_use_denial",
    "end_uses": "destination_end_use_denial",
}
"""Which rule kind reads each optional rule field; on any other kind the field does nothing."""


def check_policy(policy: PolicyTable, table_end_uses: Collection[str], where: str) -> None:
    """Raise ReferenceDataError for the first problem, prefixed by ``where`` (the file)."""
    # Only end uses a record can carry and the end-use table rates can be coded by features.py.
    end_uses = tuple(e for e in END_USES if e in table_end_uses)
    for problem in _problems(policy, end_uses):
        raise ReferenceDataError(f"{where}: {problem}")


def _problems(policy: PolicyTable, end_uses: tuple[str, ...]) -> Iterator[str]:
    """Yield every problem of a policy table, names first."""
    yield from _name_problems(policy)
    for dated in (*policy.control_lists, *policy.rules):
        yield from _dated_problems(dated)
    for rule in policy.rules:
        yield from _rule_problems(rule, end_uses)


def _label(dated: Dated) -> str:
    """Return how a message names a list or rule."""
    from supplier_risk.reference import Rule

    kind = "rule" if isinstance(dated, Rule) else "control list"
    return f"{kind} {dated.name!r}"


def _name_problems(policy: PolicyTable) -> Iterator[str]:
    """Yield a problem if a name is used twice (scenarios and materials refer to them by name)."""
    names = [d.name for d in (*policy.control_lists, *policy.rules)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        yield (
            f"name {', '.join(repr(n) for n in repeated)} used more than once; allowed: each "
            "control list and rule name once, across control_lists and rules"
        )


def _dated_problems(dated: Dated) -> Iterator[str]:
    """Yield the problems of a list's or rule's dates and suspensions."""
    label = _label(dated)
    if dated.in_force < dated.announced:
        yield (
            f"{label}: in_force {dated.in_force.isoformat()} is before announced "
            f"{dated.announced.isoformat()}; allowed: a date on or after announced"
        )
    for i, suspension in enumerate(dated.suspensions):
        field = f"{label}: suspensions[{i}]"
        if suspension.start >= suspension.until:
            yield (
                f"{field}: from {suspension.start.isoformat()} is not before until "
                f"{suspension.until.isoformat()}; allowed: from earlier than until "
                "(the suspension covers [from, until))"
            )
        for code in suspension.except_destinations:
            yield from _country_problems(f"{field}.except_destinations", code)


def _country_problems(field: str, code: str) -> Iterator[str]:
    """Yield a problem if ``code`` is not a country code as the countries table writes it."""
    if code in country_codes():
        return
    if code.upper() in country_codes():
        yield f"{field} has {code!r}; allowed: upper-case country codes: write {code.upper()!r}"
        return
    yield (
        f"{field} has {code!r}, which is not in the countries table; allowed: ISO 3166-1 "
        "alpha-2 codes in upper case, such as 'JP' or 'US'"
    )


def _rule_problems(rule: Rule, end_uses: tuple[str, ...]) -> Iterator[str]:
    """Yield the problems of a rule's kind-specific fields."""
    label = _label(rule)
    for name, kind in _USED_BY.items():
        if rule.kind != kind and getattr(rule, name) not in (None, ()):
            yield f"{label}: {name} is not read by kind {rule.kind}; allowed: only on kind {kind}"
    if rule.kind == "extraterritorial":
        share = rule.threshold_china_share
        low, high = _SHARE_BOUNDS
        if share is None or not low <= share <= high:
            yield (
                f"{label}: threshold_china_share is {share!r}; allowed: a share from {low:g} to "
                f"{high:g} (0.001 is 0.1%), required for kind extraterritorial"
            )
    if rule.kind == "destination_end_use_denial":
        if not rule.end_uses:
            yield f"{label}: end_uses is empty; allowed: one or more of {', '.join(end_uses)}"
        for end_use in rule.end_uses:
            if end_use not in end_uses:
                yield f"{label}: end_uses has {end_use!r}; allowed: {', '.join(end_uses)}"
        for code in rule.destination_countries:
            yield from _country_problems(f"{label}: destination_countries", code)
