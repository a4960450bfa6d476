"""The model file: loading refuses anything it cannot trust, with a clear message."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from supplier_risk.errors import ModelFileError
from supplier_risk.json_file import MAX_DEPTH
from supplier_risk.model_file import (
    MAX_MODEL_BYTES,
    canonical_bytes,
    content_sha256,
    dump_model,
    finalise_document,
    load_model_file,
    model_json_schema_text,
    parse_model,
)
from supplier_risk.scoring import LoadedModel, load_model

SCHEMA = Path(__file__).resolve().parents[2] / "models" / "model.schema.json"


@pytest.fixture(scope="module")
def document(model_path: Path) -> dict[str, Any]:
    """Return the shipped model file as a document."""
    loaded: dict[str, Any] = json.loads(model_path.read_text("utf-8"))
    return loaded


def rehashed(document: dict[str, Any], change: Any) -> str:
    """Return the document's JSON after ``change(doc)``, with a correct sha256."""
    doc = copy.deepcopy(document)
    change(doc)
    doc["sha256"] = content_sha256(doc)
    return json.dumps(doc)


def test_load_model_file_accepts_the_shipped_model(model_path: Path) -> None:
    model = load_model_file(model_path)
    assert model.format_version == 1
    assert model.sha256 == content_sha256(json.loads(model_path.read_text("utf-8")))


def test_model_json_schema_file_is_current() -> None:
    assert SCHEMA.read_text("utf-8") == model_json_schema_text(), (
        "models/model.schema.json is stale; regenerate it with "
        "python -c 'from supplier_risk.model_file import model_json_schema_text as t; "
        'print(t(), end="")\' > models/model.schema.json'
    )


def test_parse_model_refuses_changed_content(document: dict[str, Any]) -> None:
    doc = copy.deepcopy(document)
    doc["intercept"] += 0.5
    with pytest.raises(ModelFileError, match=r"sha256 mismatch: the file says '[0-9a-f]{64}' but"):
        parse_model(json.dumps(doc))


def test_parse_model_refuses_missing_hash(document: dict[str, Any]) -> None:
    doc = {k: v for k, v in document.items() if k != "sha256"}
    with pytest.raises(ModelFileError, match=r"has no sha256 of its content"):
        parse_model(json.dumps(doc))


def test_parse_model_refuses_malformed_hash(document: dict[str, Any]) -> None:
    with pytest.raises(ModelFileError, match=r"sha256 mismatch: the file says 'abc'"):
        parse_model(json.dumps({**document, "sha256": "abc"}))


@pytest.mark.parametrize("version", [2, 0, "1", None, 1.5, True, 1.0])
def test_parse_model_refuses_unknown_format_version(
    document: dict[str, Any], version: object
) -> None:
    text = rehashed(document, lambda d: d.update(format_version=version))
    # Named as the file has it (JSON): true, not Python's True.
    shown = re.escape(json.dumps(version))
    with pytest.raises(ModelFileError, match=rf"format_version {shown}; this release reads"):
        parse_model(text)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_parse_model_refuses_non_finite_number(document: dict[str, Any], constant: str) -> None:
    text = json.dumps(document).replace(
        f'"intercept": {json.dumps(document["intercept"])}', f'"intercept": {constant}'
    )
    assert constant in text
    with pytest.raises(ModelFileError, match=rf"contains {constant}, which is not a number JSON"):
        parse_model(text)


@pytest.mark.parametrize("text", ["", "{", "not json", '{"a": 1,}', b"\xff\xfe{"])
def test_parse_model_refuses_non_json(text: str | bytes) -> None:
    with pytest.raises(ModelFileError, match=r"^model file is not valid JSON"):
        parse_model(text)


@pytest.mark.parametrize(("text", "kind"), [("[1, 2]", "list"), ('"model"', "str"), ("3", "int")])
def test_parse_model_refuses_non_object(text: str, kind: str) -> None:
    with pytest.raises(ModelFileError, match=rf"must hold a JSON object, got {kind}"):
        parse_model(text)


def _first_term(doc: dict[str, Any]) -> dict[str, Any]:
    term: dict[str, Any] = doc["terms"][0]
    return term


def _pair_term(doc: dict[str, Any]) -> dict[str, Any]:
    term: dict[str, Any] = next(t for t in doc["terms"] if len(t["features"]) == 2)
    return term


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: _first_term(d)["values"].pop(), r"terms\.0: .*needs \d+ values"),
        (lambda d: _first_term(d).update(values=[[0.0]]), r"terms\.0"),
        (lambda d: _first_term(d).update(edges=[]), r"one edge list per feature"),
        (lambda d: _first_term(d)["edges"][0].reverse(), r"edges must be strictly increasing"),
        (lambda d: _pair_term(d)["values"][0].pop(), r"needs a \d+ x \d+ table of values"),
        (lambda d: _pair_term(d)["values"].pop(), r"needs a \d+ x \d+ table of values"),
        (lambda d: _first_term(d).update(features=["colour"]), r"undeclared features \['colour'\]"),
        (lambda d: _first_term(d).update(features=["a", "b", "c"]), r"terms\.0\.features"),
        (
            lambda d: _first_term(d).update(name="licence_type"),
            r"term 'licence_type' over \['china_share'\] must be named 'china_share'",
        ),
        (lambda d: d["terms"].append(_first_term(d)), r"term china_share: each input .* one term"),
        (
            lambda d: d["terms"].append(
                {
                    **_pair_term(d),
                    "features": _pair_term(d)["features"][::-1],
                    "name": " x ".join(_pair_term(d)["features"][::-1]),
                }
            ),
            r"each input or pair of inputs has one term",
        ),
        (
            lambda d: _pair_term(d).update(
                features=["end_use", "end_use"], name="end_use x end_use"
            ),
            r"term end_use x end_use: each input or pair of inputs has one term",
        ),
        (lambda d: d.update(intercept="high"), r"intercept: Input should be a valid number"),
        (lambda d: d.update(intercept=-1e308), r"intercept: Input should be greater than .* -1000"),
        (
            lambda d: _pair_term(d)["values"][0].__setitem__(0, 1e308),
            r"values are log-odds from -1000 to 1000; got 1e\+308",
        ),
        (lambda d: d.pop("terms"), r"terms: Field required"),
        (lambda d: d.update(extra=1), r"extra: Extra inputs are not permitted"),
        (lambda d: d["bands"].update(thresholds=[0.5, 0.25, 0.1]), r"strictly increasing"),
        (lambda d: d["bands"].update(thresholds=[0.1, 0.5]), r"one more label than thresholds"),
        (
            lambda d: d["bands"].update(labels=["low", "low", "high", "high"]),
            r"labels must be \['low', 'medium', 'high', 'critical'\], as the contract names them; "
            r"got \['low', 'low', 'high', 'high'\]",
        ),
        (
            lambda d: d["bands"].update(labels=["green", "red"], thresholds=[0.3]),
            r"labels must be \['low', 'medium', 'high', 'critical'\]",
        ),
        (lambda d: d.update(metrics={"held_out": {"roc_auc": "good"}}), r"metrics\.held_out"),
        # Numbers are JSON numbers, as models/model.schema.json says: no text, no true/false.
        (
            lambda d: _first_term(d)["values"].__setitem__(1, "0.5"),
            r"terms\.0\.values\.1: .*number",
        ),
        (lambda d: _pair_term(d)["values"][1].__setitem__(2, "0.5"), r"values\.1\.2: .*number"),
        (lambda d: _first_term(d)["edges"][0].__setitem__(0, True), r"terms\.0\.edges\.0\.0"),
        (lambda d: d.update(intercept="-2.1"), r"^model file: intercept: .*valid number"),
        (lambda d: d["bands"].update(thresholds=["0.1", 0.25, 0.5]), r"bands\.thresholds\.0"),
        (lambda d: d["training"].update(rows="160000"), r"training\.rows: .*valid integer"),
        (lambda d: d["metrics"]["held_out"].update(roc_auc="0.8"), r"metrics\.held_out\.roc_auc"),
    ],
)
def test_parse_model_refuses_wrong_shape(document: dict[str, Any], change: Any, match: str) -> None:
    with pytest.raises(ModelFileError, match=match):
        parse_model(rehashed(document, change))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: _first_term(d).update(name="licence_type"),
            "model file: term 'licence_type' over ['china_share'] must be named 'china_share'",
        ),
        (
            lambda d: _first_term(d)["values"].pop(),
            "model file: terms.0: term china_share: needs {bins} values",
        ),
    ],
)
def test_parse_model_words_a_failed_check_as_where_then_what(
    document: dict[str, Any], change: Any, message: str
) -> None:
    # A check over the whole file has no place to name: it said "model file: : Value error, ...".
    with pytest.raises(ModelFileError) as caught:
        parse_model(rehashed(document, change))
    assert str(caught.value) == message.format(bins=len(_first_term(document)["edges"][0]) + 1)


def test_loaded_model_refuses_features_of_another_release(document: dict[str, Any]) -> None:
    def rename(doc: dict[str, Any]) -> None:
        doc["features"][0]["name"] = "china_content"
        for term in doc["terms"]:
            term["features"] = [
                "china_content" if f == "china_share" else f for f in term["features"]
            ]
            term["name"] = " x ".join(term["features"])

    model = parse_model(rehashed(document, rename))
    with pytest.raises(ModelFileError, match=r"features \['china_content', .* do not match"):
        LoadedModel(model)


def _set_feature(name: str, field: str, value: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        next(f for f in doc["features"] if f["name"] == name)[field] = value

    return change


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            _set_feature("china_share", "monotone", -1),
            r"features\.0\.monotone \(china_share\) is -1",
        ),
        (_set_feature("supplier_type", "monotone", 1), r"features\.5\.monotone .* as 0"),
        (
            _set_feature(
                "licence_type",
                "levels",
                ["denied", "pending", "individual", "general", "not_required"],
            ),
            r"features\.1\.levels \(licence_type\) is \['denied'.*"
            r"this release codes licence_type as \['not_required'",
        ),
        (_set_feature("end_use", "levels", ["x", "y", "z", "w"]), r"features\.2\.levels"),
        (
            _set_feature("controlled", "kind", "numeric"),
            r"features\.6\.kind \(controlled\) is 'numeric'",
        ),
        (_set_feature("china_share", "kind", "ordinal"), r"features\.0\.kind"),
    ],
)
def test_loaded_model_refuses_inputs_coded_otherwise_than_this_release(
    document: dict[str, Any], change: Any, match: str
) -> None:
    # Such a file was scored with codes it does not mean and described itself wrongly.
    model = parse_model(rehashed(document, change))
    with pytest.raises(ModelFileError, match=match):
        LoadedModel(model)


def _raise_pair_cell(by: float) -> Any:
    """Raise one cell of the licence x buffer table: a longer buffer then raises the risk."""

    def change(doc: dict[str, Any]) -> None:
        term = next(t for t in doc["terms"] if t["name"] == "licence_type x inventory_buffer_days")
        row = term["values"][2]  # individual licence
        row[-1] = row[-2] + by

    return change


def test_loaded_model_refuses_a_table_against_its_declared_direction(
    document: dict[str, Any],
) -> None:
    # Recourse searches for the nearest change that lowers the band assuming the directions.
    model = parse_model(rehashed(document, _raise_pair_cell(0.5)))
    with pytest.raises(ModelFileError, match=r"direction of inventory_buffer_days \(monotone -1\)"):
        LoadedModel(model)


def test_loaded_model_accepts_rounding_noise_against_a_direction(document: dict[str, Any]) -> None:
    # Files from before exact sums carry steps of a few units in the last place the other way.
    LoadedModel(parse_model(rehashed(document, _raise_pair_cell(1e-13))))


def test_loaded_model_scores_with_log_odds_at_the_bounds(document: dict[str, Any]) -> None:
    # At the bounds nothing overflows: the baseline's exponential (an OverflowError at start)
    # nor the sum of every term's value (math.fsum's 'intermediate overflow' on each record).
    def extreme(doc: dict[str, Any]) -> None:
        doc["intercept"] = -1000.0
        for term in doc["terms"]:
            term["values"] = [
                [1000.0] * len(row) if isinstance(row, list) else 1000.0 for row in term["values"]
            ]

    model = LoadedModel(parse_model(rehashed(document, extreme)))
    assert model.baseline_probability == 0.0
    probability, _ = model.score_one([1.0] * len(model.file.features))
    assert probability == 1.0
    assert model.score(np.ones((3, len(model.file.features)))).probability.tolist() == [1.0] * 3


def test_loaded_model_baseline_is_the_probability_of_a_record_at_the_baseline(
    document: dict[str, Any],
) -> None:
    model = LoadedModel(parse_model(rehashed(document, lambda d: d.update(terms=[]))))
    probability, contributions = model.score_one([0.0] * len(model.file.features))
    assert contributions == []
    assert probability == model.baseline_probability


def test_load_model_file_refuses_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_MODEL_BYTES + 1)
    with pytest.raises(ModelFileError, match=rf"is {MAX_MODEL_BYTES + 1} bytes; at most"):
        load_model_file(path)


def test_load_model_file_refuses_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"cannot read model file .*nothing\.json"):
        load_model_file(tmp_path / "nothing.json")


def test_load_model_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{", "utf-8")
    with pytest.raises(ModelFileError, match=r"model file .*broken\.json is not valid JSON"):
        load_model(path)


def test_finalise_document_refuses_non_finite_number(document: dict[str, Any]) -> None:
    doc = copy.deepcopy(document)
    _first_term(doc)["values"][1] = float("nan")
    with pytest.raises(ModelFileError, match=r"non-finite number at \$\.terms\[0\]\.values\[1\]"):
        finalise_document(doc)


def test_dump_model_round_trips(document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    sha = dump_model(copy.deepcopy(document), path)
    assert sha == document["sha256"]
    assert load_model_file(path).model_dump(mode="json", by_alias=True) == parse_model(
        json.dumps(document)
    ).model_dump(mode="json", by_alias=True)


def test_dump_model_leaves_the_old_file_whole_when_the_write_fails(
    document: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `train --out` onto the file a service serves: a reload or a restart must never find
    # half a model there, and a full disk must not destroy the one that was.
    path = tmp_path / "model.json"
    path.write_text("the model being served", "utf-8")

    def full_disk(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("supplier_risk.model_file.os.replace", full_disk)
    with pytest.raises(OSError, match="No space left") as raised:
        dump_model(copy.deepcopy(document), path)
    assert raised.value.filename == str(path)  # named as asked, not as the part file
    assert path.read_text("utf-8") == "the model being served"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no part file left


def test_dump_model_writes_through_a_symlink_to_the_file_it_names(
    document: dict[str, Any], tmp_path: Path
) -> None:
    # A served name linked to a versioned file: the rename must not turn the link into a file.
    real = tmp_path / "model-v1.json"
    real.write_text("the model being served", "utf-8")
    link = tmp_path / "served.json"
    link.symlink_to(real)
    sha = dump_model(copy.deepcopy(document), link)
    assert link.is_symlink()
    assert load_model_file(real).sha256 == sha


def test_dump_model_keeps_the_permissions_of_the_file_it_replaces(
    document: dict[str, Any], tmp_path: Path
) -> None:
    # Written beside and renamed over: the new file had the default mode (0640 became 0644).
    path = tmp_path / "model.json"
    path.write_text("old", "utf-8")
    path.chmod(0o640)
    dump_model(copy.deepcopy(document), path)
    assert path.stat().st_mode & 0o777 == 0o640
    assert load_model_file(path).sha256 == document["sha256"]


def nested_document(document: dict[str, Any], depth: int) -> str:
    """Return the document's JSON with a list ``depth`` levels deep in it, correctly hashed."""
    doc = copy.deepcopy(document)
    doc["training"]["params"]["deep"] = "@@"
    nested = "[" * depth + "]" * depth
    doc["sha256"] = hashlib.sha256(
        canonical_bytes(doc).replace(b'"@@"', nested.encode())
    ).hexdigest()
    return json.dumps(doc).replace('"@@"', nested)


def test_parse_model_caps_nesting_well_below_what_any_reader_refuses(
    document: dict[str, Any],
) -> None:
    # The document, "training" and "params" are three levels: a list 61 deep in params makes
    # MAX_DEPTH. Deeper files were read, then broke whatever read them again (the hash, or
    # orjson's 254-level limit when GET /v1/model answered: a 500).
    loaded = parse_model(nested_document(document, MAX_DEPTH - 3))
    orjson.dumps(loaded.model_dump(mode="json"))
    for depth in (MAX_DEPTH - 2, 300, sys.getrecursionlimit() - 50, sys.getrecursionlimit()):
        with pytest.raises(ModelFileError, match=r"^model file is nested too deeply"):
            parse_model(nested_document(document, depth))
