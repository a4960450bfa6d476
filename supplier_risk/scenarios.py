"""Named what-if scenarios as data: patches to the policy table, listed and applied by name.

A scenario never touches a record: it rewrites the policy table (suspensions, rules), and the
one feature path turns that into licence status and controlled flags, so its effect shows in
the contributions. The shipped file is ``supplier_risk/data/scenarios.json``; users extend it
(setting ``SUPPLIER_RISK_SCENARIOS_PATH``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from supplier_risk.errors import ReferenceDataError, UnknownScenarioError, first_problem
from supplier_risk.json_file import parse_json
from supplier_risk.policy_check import check_policy
from supplier_risk.reference import Dated, PolicyTable, Reference, Rule, Suspension


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetSuspensions(_Strict):
    """Replace the suspensions of named control lists or rules."""

    op: Literal["set_suspensions"]
    targets: tuple[str, ...] = Field(min_length=1)
    suspensions: tuple[Suspension, ...]


class AddRule(_Strict):
    """Add a rule to the policy table."""

    op: Literal["add_rule"]
    rule: Rule


Patch = Annotated[SetSuspensions | AddRule, Field(discriminator="op")]


class Scenario(_Strict):
    """A named what-if: what it assumes, and the patches that express it."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    title: str
    description: str
    patches: tuple[Patch, ...] = ()

    def apply(self, policy: PolicyTable) -> PolicyTable:
        """Return the policy table with this scenario's patches applied."""
        lists = {c.name: c for c in policy.control_lists}
        rules = {r.name: r for r in policy.rules}
        for patch in self.patches:
            if isinstance(patch, SetSuspensions):
                for target in patch.targets:
                    if target in lists:
                        lists[target] = lists[target].model_copy(
                            update={"suspensions": patch.suspensions}
                        )
                    elif target in rules:
                        rules[target] = rules[target].model_copy(
                            update={"suspensions": patch.suspensions}
                        )
                    else:
                        raise ReferenceDataError(
                            f"scenario {self.name}: no control list or rule {target!r} in "
                            f"policy table {policy.version} (known: {sorted([*lists, *rules])})"
                        )
            else:
                rules[patch.rule.name] = patch.rule
        return policy.model_copy(
            update={
                "version": f"{policy.version}+{self.name}",
                "control_lists": tuple(lists.values()),
                "rules": tuple(rules.values()),
            }
        )


class ScenarioFile(_Strict):
    """The scenario file."""

    version: str
    scenarios: tuple[Scenario, ...]


@dataclass
class ScenarioBook:
    """The scenarios in use, by name, with the reference data each implies (cached)."""

    version: str
    scenarios: Mapping[str, Scenario]
    source: str = "(no file)"
    """the scenario file, as its messages name it"""
    _cache: dict[tuple[str, int], Reference] = field(default_factory=dict, repr=False)

    @classmethod
    def empty(cls) -> ScenarioBook:
        """Return a book with no scenarios."""
        return cls(version="none", scenarios={})

    def names(self) -> tuple[str, ...]:
        """Return the scenario names, in file order."""
        return tuple(self.scenarios)

    def get(self, name: str) -> Scenario:
        """Return a scenario by name, or raise UnknownScenarioError listing the known ones."""
        try:
            return self.scenarios[name]
        except KeyError:
            shown = name if len(name) <= 64 else name[:64] + "..."
            allowed = ", ".join(self.scenarios) or "(none)"
            raise UnknownScenarioError(
                f"scenario {shown!r} is not defined; allowed: {allowed}"
            ) from None

    def reference_for(self, name: str, reference: Reference) -> Reference:
        """Return ``reference`` with the named scenario applied to its policy table."""
        key = (name, id(reference))
        cached = self._cache.get(key)
        if cached is None:
            cached = reference.with_policy(self._patched(self.get(name), reference))
            self._cache[key] = cached
        return cached

    def _patched(self, scenario: Scenario, reference: Reference) -> PolicyTable:
        """Return the scenario's policy table, checked as the reference loader checks its own."""
        try:
            policy = scenario.apply(reference.policy)
        except ReferenceDataError as exc:
            raise ReferenceDataError(f"scenario file {self.source}: {exc}") from None
        where = f"scenario file {self.source}: scenario {scenario.name}"
        check_policy(policy, reference.end_use_sensitivity, where)
        return policy

    def served_reference(self, reference: Reference) -> Reference:
        """Check every scenario, then return ``reference`` knowing which ones lift what."""
        self.check_against(reference)
        what_ifs: dict[tuple[str, dt.date], str] = {}
        for dated in (*reference.policy.control_lists, *reference.policy.rules):
            for suspension in (s for s in dated.suspensions if s.assumed):
                lifting = self._lifting(dated.name, suspension, reference)
                if lifting is not None:
                    what_ifs[(dated.name, suspension.start)] = lifting
        return reference.with_what_ifs(what_ifs)

    def _lifting(self, name: str, suspension: Suspension, reference: Reference) -> str | None:
        """Return the first scenario that puts ``name`` in force inside ``suspension``, if any."""
        for scenario in self.scenarios:
            policy = self.reference_for(scenario, reference).policy
            for dated in (*policy.control_lists, *policy.rules):
                if dated.name == name and _in_force_within(dated, suspension):
                    return scenario
        return None

    def check_against(self, reference: Reference) -> None:
        """Apply every scenario once, so a bad scenario file fails when loaded, not at a request."""
        for name in self.scenarios:
            self.reference_for(name, reference)


def _in_force_within(dated: Dated, span: Suspension) -> bool:
    """Return whether ``dated`` is in force, for buyers anywhere, on some day of ``span``."""
    # Being in force only changes on these dates, so checking them checks every day.
    edges = {span.start, dated.in_force}
    edges.update(d for s in dated.suspensions for d in (s.start, s.until))
    return any(dated.in_force_on(d) for d in edges if span.start <= d < span.until)


def parse_scenarios(text: str | bytes, source: str) -> ScenarioBook:
    """Parse and validate a scenario file's text."""
    document = parse_json(text, f"scenario file {source}", ReferenceDataError)
    try:
        parsed = ScenarioFile.model_validate(document)
    except ValidationError as exc:
        raise ReferenceDataError(f"scenario file {source}: {first_problem(exc.errors())}") from exc
    names = [s.name for s in parsed.scenarios]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ReferenceDataError(f"scenario file {source}: names repeated: {', '.join(repeated)}")
    return ScenarioBook(parsed.version, {s.name: s for s in parsed.scenarios}, source)


def load_scenarios(path: Path | None = None) -> ScenarioBook:
    """Load a scenario file (default: the shipped one)."""
    try:
        if path is None:
            data = resources.files("supplier_risk").joinpath("data/scenarios.json").read_bytes()
            return parse_scenarios(data, "scenarios.json (shipped)")
        return parse_scenarios(path.read_bytes(), str(path))
    except OSError as exc:
        raise ReferenceDataError(
            f"cannot read scenario file {path}: {exc.strerror or exc}"
        ) from exc
