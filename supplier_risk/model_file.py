"""The JSON model file of CONTRACT.md section 3: schema, canonical hash, load and dump."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import stat
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    model_validator,
)

from supplier_risk.errors import ModelFileError
from supplier_risk.json_file import parse_json

FORMAT_VERSION = 1
MAX_MODEL_BYTES = 50 * 1024 * 1024
BAND_LABELS = ("low", "medium", "high", "critical")
"""The bands of CONTRACT.md section 4, lowest first; the model file keeps only the thresholds."""
MAX_LOG_ODDS = 1000.0
"""Largest intercept or table value, in log-odds, either sign. A trained model stays below 50;
beyond 37 a probability is 0 or 1 to the last bit, and numbers near the float limit overflow
scoring's sums and exponentials: a file that loaded, then failed on every record."""


class _Strict(BaseModel):
    # Numbers are StrictFloat and StrictInt: the text "0.25" or true is no number in a model
    # file, and models/model.schema.json (type number) refuses what the loader would accept.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FeatureSpec(_Strict):
    """One model input and how its values are coded."""

    name: str
    kind: Literal["numeric", "ordinal", "binary"]
    levels: tuple[str, ...] | None = Field(
        default=None, description="for ordinal inputs: the label of code 0, 1, ..."
    )
    monotone: Literal[-1, 0, 1] = Field(
        description="1: risk never falls as it rises; -1: never rises"
    )
    description: str = ""


class Term(_Strict):
    """A step-function lookup table over one or two inputs.

    For input k, bin ``i`` holds the values x with ``edges[k][i-1] < x <= edges[k][i]``;
    bin 0 is everything up to ``edges[k][0]`` and the last bin everything above the last edge.
    ``values`` is indexed by the bins of each input in order (a list, or a list of lists).
    """

    name: str
    features: tuple[str, ...] = Field(min_length=1, max_length=2)
    edges: tuple[tuple[StrictFloat, ...], ...]
    values: tuple[StrictFloat, ...] | tuple[tuple[StrictFloat, ...], ...]

    @model_validator(mode="after")
    def _check_shape(self) -> Term:
        if len(self.edges) != len(self.features):
            raise ValueError(f"term {self.name}: one edge list per feature is required")
        for edges in self.edges:
            if any(b <= a for a, b in itertools.pairwise(edges)):
                raise ValueError(f"term {self.name}: edges must be strictly increasing")
        rows = self.values
        if len(self.features) == 1:
            if len(rows) != len(self.edges[0]) + 1 or not all(isinstance(v, float) for v in rows):
                raise ValueError(f"term {self.name}: needs {len(self.edges[0]) + 1} values")
        else:
            ok = len(rows) == len(self.edges[0]) + 1 and all(
                isinstance(r, tuple) and len(r) == len(self.edges[1]) + 1 for r in rows
            )
            if not ok:
                raise ValueError(
                    f"term {self.name}: needs a {len(self.edges[0]) + 1} x "
                    f"{len(self.edges[1]) + 1} table of values"
                )
        cells = (v for r in rows for v in (r if isinstance(r, tuple) else (r,)))
        worst = max(map(abs, cells), default=0.0)
        if worst > MAX_LOG_ODDS:
            raise ValueError(
                f"term {self.name}: values are log-odds from -{MAX_LOG_ODDS:g} to "
                f"{MAX_LOG_ODDS:g}; got {worst:g}"
            )
        return self


class Bands(_Strict):
    """Probability thresholds between the risk bands."""

    labels: tuple[str, ...] = BAND_LABELS
    thresholds: tuple[StrictFloat, ...] = (0.10, 0.25, 0.50)

    @model_validator(mode="after")
    def _check(self) -> Bands:
        # Callers match on these words, and the summary counts rows by label: other or repeated
        # labels were served as they stood, and a repeated one emptied the counts of its bands.
        if self.labels != BAND_LABELS:
            raise ValueError(
                f"bands: labels must be {list(BAND_LABELS)}, as the contract names them; "
                f"got {list(self.labels)}"
            )
        if len(self.labels) != len(self.thresholds) + 1:
            raise ValueError("bands: one more label than thresholds is required")
        if list(self.thresholds) != sorted(set(self.thresholds)) or not all(
            0.0 < t < 1.0 for t in self.thresholds
        ):
            raise ValueError("bands: thresholds must be strictly increasing, inside (0, 1)")
        return self


class TrainingInfo(_Strict):
    """What the model was trained on and how."""

    rows: StrictInt
    held_out_rows: StrictInt
    data_sha256: str
    as_of_min: str
    as_of_max: str
    positive_rate: StrictFloat
    source: str
    estimator: str
    params: dict[str, Any] = {}
    trained_at: str
    seconds: StrictFloat | None = None


class ModelFile(_Strict):
    """The whole model as one JSON document."""

    format_version: Literal[1]
    name: str
    version: str
    description: str = ""
    training: TrainingInfo
    reference_versions: dict[str, str]
    features: tuple[FeatureSpec, ...]
    intercept: StrictFloat = Field(
        ge=-MAX_LOG_ODDS,
        le=MAX_LOG_ODDS,
        description="log-odds of the baseline (average training record)",
    )
    terms: tuple[Term, ...]
    bands: Bands
    metrics: dict[str, dict[str, StrictFloat]]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _check_features(self) -> ModelFile:
        names = {f.name for f in self.features}
        seen: set[frozenset[str]] = set()
        for term in self.terms:
            unknown = [f for f in term.features if f not in names]
            if unknown:
                raise ValueError(f"term {term.name} uses undeclared features {unknown}")
            # The name is what results call the term and what picks its words: a term named
            # licence_type over china_share was explained as a licence; a repeated one was
            # two contributions of one name.
            expected = " x ".join(term.features)
            if term.name != expected:
                raise ValueError(
                    f"term {term.name!r} over {list(term.features)} must be named {expected!r}"
                )
            if len(set(term.features)) != len(term.features) or frozenset(term.features) in seen:
                raise ValueError(f"term {term.name}: each input or pair of inputs has one term")
            seen.add(frozenset(term.features))
        return self


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """Return the canonical JSON of a document without its ``sha256`` field."""
    body = {k: v for k, v in document.items() if k != "sha256"}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_sha256(document: dict[str, Any]) -> str:
    """Return the sha256 of a document's canonical content."""
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def _reject_constant(name: str) -> float:
    raise ModelFileError(f"model file contains {name}, which is not a number JSON allows")


def parse_model(text: str | bytes, source: str = "model file") -> ModelFile:
    """Parse and verify a model file's text: JSON, no NaN, known version, schema, sha256."""
    document = parse_json(text, source, ModelFileError, parse_constant=_reject_constant)
    if not isinstance(document, dict):
        raise ModelFileError(f"{source} must hold a JSON object, got {type(document).__name__}")
    version = document.get("format_version")
    # The JSON integer 1 only: true and 1.0 compare equal to it in Python, not in a schema.
    if type(version) is not int or version != FORMAT_VERSION:
        raise ModelFileError(
            f"{source} has format_version {json.dumps(version)}; this release reads format_version "
            f"{FORMAT_VERSION} only"
        )
    stated = document.get("sha256")
    if not isinstance(stated, str):
        raise ModelFileError(
            f"{source} has no sha256 of its content (a string of 64 hex digits); a model file "
            "is written by `supplier-risk train`, which records it"
        )
    actual = content_sha256(document)  # parse_json capped the depth: hashing cannot recurse out
    if stated != actual:
        raise ModelFileError(
            f"{source} sha256 mismatch: the file says {stated!r} but its content hashes to "
            f"{actual!r}; the file was changed or damaged after it was written"
        )
    try:
        return ModelFile.model_validate(document)
    except ValidationError as exc:
        raise ModelFileError(f"{source}: {_problem(exc)}") from exc


def _problem(exc: ValidationError) -> str:
    """Return the deepest of pydantic's errors as 'where: what', without union member names."""
    # A table cell that is no number fails both shapes Term.values may have, a list and a list
    # of lists; the deeper error names the cell (terms.7.values.1.2), the other only its row.
    error = max(exc.errors(), key=lambda e: len(e["loc"]))
    where = ".".join(str(p) for p in error["loc"] if not (isinstance(p, str) and "[" in p))
    # Our own checks' words stand alone: pydantic's "Value error, " prefix adds nothing, and a
    # check over the whole file (the terms' names) has no place to name.
    raised = error.get("ctx", {}).get("error") if error["type"] == "value_error" else None
    what = error["msg"] if raised is None else str(raised)
    return f"{where}: {what}" if where else what


def load_model_file(path: Path) -> ModelFile:
    """Read and verify a model file from disk."""
    try:
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelFileError(f"model file {path} is {size} bytes; at most {MAX_MODEL_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc.strerror or exc}") from exc
    return parse_model(data, source=f"model file {path}")


def finalise_document(document: dict[str, Any]) -> dict[str, Any]:
    """Return the document with its sha256 set, after checking it is finite and valid."""

    def check(value: Any, where: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise ModelFileError(f"model document has a non-finite number at {where}")
        if isinstance(value, dict):
            for k, v in value.items():
                check(v, f"{where}.{k}")
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                check(v, f"{where}[{i}]")

    check(document, "$")
    body = {k: v for k, v in document.items() if k != "sha256"}
    finished = {**body, "sha256": content_sha256(body)}
    ModelFile.model_validate(finished)
    return finished


def dump_model(document: dict[str, Any], path: Path) -> str:
    """Write a finalised model document as indented JSON; return its sha256.

    The file appears whole or not at all: written beside its name, then renamed over it, so a
    service reloading (or starting) from that path never reads half a model, and a failed
    write (a full disk) leaves the model that was there.
    """
    finished = finalise_document(document)
    text = json.dumps(finished, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    # Through a symlink (a served name pointing at a versioned file) the file it names is
    # replaced, as a plain write did, not the link itself.
    target = path.resolve()
    temporary = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with temporary.open("w", encoding="utf-8") as sink:
            sink.write(text)
            sink.flush()
            os.fsync(sink.fileno())  # on disk before the rename: a power cut keeps one or other
        if target.exists():  # a model kept private stays private
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        os.replace(temporary, target)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc  # the file asked for
    finally:
        temporary.unlink(missing_ok=True)
    return str(finished["sha256"])


def model_json_schema_text() -> str:
    """Return the text of models/model.schema.json exactly as it is committed."""
    return json.dumps(model_json_schema(), indent=1, sort_keys=True) + "\n"


def model_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the model file."""
    schema = ModelFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "supplier-risk/model.schema.json"
    return schema
