"""POST /v1/score/batch: every valid row scored, every invalid row listed, nothing dropped."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.app import create_app
from service.routes.scoring import BATCH_IN_THREAD_BYTES, BATCH_ON_LOOP_ITEMS
from service.schemas import BatchResponse
from supplier_risk.settings import Settings
from tests.conftest import BASE_RECORD, record_data
from tests.service.conftest import TestClient


def test_batch_scores_valid_rows_and_lists_invalid_ones(client: TestClient) -> None:
    suppliers = [
        record_data(supplier_id="A"),
        record_data(supplier_id="B", end_use="space"),
        42,
        record_data(supplier_id="C", inventory_buffer_days=400),
        {**BASE_RECORD, "supplier_id": "D", "colour": "red"},
    ]
    response = client.post("/v1/score/batch", json={"suppliers": suppliers})
    assert response.status_code == 200
    body = BatchResponse.model_validate(response.json())
    assert [r.supplier_id for r in body.results] == ["A", "C"]
    assert [(e.index, e.supplier_id) for e in body.errors] == [(1, "B"), (2, None), (4, "D")]
    assert body.errors[0].errors[0].field == "end_use"
    assert "'defense'" in body.errors[0].errors[0].message
    assert body.errors[2].errors[0].field == "colour"


def test_batch_without_explain_skips_reasons_and_recourse(client: TestClient) -> None:
    response = client.post("/v1/score/batch", json={"suppliers": [BASE_RECORD], "explain": False})
    result = response.json()["results"][0]
    assert result["reasons"] == []
    assert result["recourse"] == []
    assert result["contributions"]


def test_batch_applies_scenario(client: TestClient) -> None:
    response = client.post(
        "/v1/score/batch?scenario=general_licences_revoked", json={"suppliers": [BASE_RECORD]}
    )
    assert response.json()["results"][0]["scenario"] == "general_licences_revoked"


def test_batch_rejects_unknown_scenario(client: TestClient) -> None:
    response = client.post("/v1/score/batch?scenario=x", json={"suppliers": [BASE_RECORD]})
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_scenario"


def test_large_batch_is_one_document_in_order(client: TestClient) -> None:
    middle = 1_000
    n = 2 * middle + 1
    suppliers = [
        record_data(supplier_id=f"S-{i}", inventory_buffer_days=float(i % 400)) for i in range(n)
    ]
    suppliers[middle] = {"supplier_id": "bad"}  # an invalid row among many valid ones
    response = client.post("/v1/score/batch", json={"suppliers": suppliers, "explain": False})
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    body = BatchResponse.model_validate(response.json())
    assert [r.supplier_id for r in body.results] == [f"S-{i}" for i in range(n) if i != middle]
    assert [e.index for e in body.errors] == [middle]


def test_batch_of_nothing_is_empty(client: TestClient) -> None:
    response = client.post("/v1/score/batch", json={"suppliers": []})
    assert response.json() == {"results": [], "errors": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"suppliers": "all of them"}, "suppliers"),
        ({"records": []}, "suppliers"),
        ({"suppliers": [], "explain": "very"}, "explain"),
        ({"suppliers": [], "explain": "yes"}, "explain"),
        ({"suppliers": [], "explain": 1}, "explain"),
    ],
)
def test_batch_rejects_bad_envelope(client: TestClient, body: object, field: str) -> None:
    response = client.post("/v1/score/batch", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


def test_batch_unknown_envelope_field_names_the_envelopes_fields(client: TestClient) -> None:
    response = client.post("/v1/score/batch", json={"suppliers": [], "foo": 1})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "foo"
    assert error["message"] == "unknown field; allowed fields: suppliers, explain"


def test_batch_rejects_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/v1/score/batch",
        content=b'{"suppliers": [{"supplier_id": "A"',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


def test_batch_lists_a_nan_row_and_scores_the_rest(client: TestClient) -> None:
    text = '{"suppliers": [{"supplier_id": "N", "material": "dy_oxide", "origin_country": "CN",'
    text += ' "licence_type": "general", "end_use": "medical", "inventory_buffer_days": NaN},'
    text += ' {"supplier_id": "OK", "material": "dy_oxide", "origin_country": "CN",'
    text += ' "licence_type": "general", "end_use": "medical", "inventory_buffer_days": 5}]}'
    response = client.post(
        "/v1/score/batch", content=text.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["supplier_id"] for r in body["results"]] == ["OK"]
    assert body["errors"][0]["supplier_id"] == "N"
    assert "finite number" in body["errors"][0]["errors"][0]["message"]


def test_batch_handles_odd_valid_rows_and_names_big_integers_exactly(client: TestClient) -> None:
    # orjson reads an integer beyond 64 bits as a float; the error must still show the digits
    # sent. The lower-case countries take SupplierRecord's path, which normalises them.
    text = (
        '{"suppliers": [{"supplier_id": "BIG", "material": "dy_oxide", "origin_country": "CN",'
        ' "licence_type": "general", "end_use": "medical", "inventory_buffer_days": 5,'
        ' "alternate_suppliers": 100000000000000000000000},'
        ' {"supplier_id": "low", "material": "dy_oxide", "origin_country": "cn",'
        ' "destination_country": " de ", "licence_type": "general", "end_use": "medical",'
        ' "inventory_buffer_days": 5}]}'
    )
    response = client.post(
        "/v1/score/batch", content=text.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["supplier_id"] for r in body["results"]] == ["low"]
    single = client.post(
        "/v1/score",
        json=record_data(
            supplier_id="low",
            material="dy_oxide",
            origin_country="CN",
            destination_country="DE",
            licence_type="general",
            end_use="medical",
            inventory_buffer_days=5,
            china_share=None,
            alternate_suppliers=None,
            supplier_type=None,
            supplier_name=None,
            as_of=None,
        ),
    )
    scored, expected = body["results"][0], single.json()
    assert scored == expected
    assert [(e["index"], e["supplier_id"]) for e in body["errors"]] == [(0, "BIG")]
    error = body["errors"][0]["errors"][0]
    assert error["field"] == "alternate_suppliers"
    assert str(error["value"]) == "100000000000000000000000"
    assert "less than or equal to 1000" in error["message"]


def test_batch_over_max_items_is_413(settings: Settings) -> None:
    limited = settings.model_copy(update={"max_batch_items": 3})
    with TestClient(create_app(limited)) as client:
        response = client.post("/v1/score/batch", json={"suppliers": [BASE_RECORD] * 4})
        assert response.status_code == 413
        assert "at most 3 are allowed" in response.json()["message"]
        ok = client.post("/v1/score/batch", json={"suppliers": [BASE_RECORD] * 3})
        assert ok.status_code == 200


def test_declared_batch_route_answers_like_the_fast_lane(settings: Settings) -> None:
    """The FastAPI route (served where the edge middleware has no lane) gives the same answer."""
    limited = settings.model_copy(update={"max_batch_items": 3})
    lane_app, routed_app = create_app(limited), create_app(limited)
    assert routed_app.edge is not None
    assert lane_app.edge is not None
    routed_app.edge.lane = None
    lane = lane_app.edge.lane
    assert lane is not None
    answered: list[str] = []
    respond = lane.respond

    async def counted(scope: Any, *args: Any) -> Any:
        answered.append(scope["path"])
        return await respond(scope, *args)

    lane.respond = counted  # type: ignore[method-assign,assignment]
    json_type = {"content-type": "application/json"}
    cases: list[tuple[str, bytes, dict[str, str]]] = [
        ("", json.dumps({"suppliers": [BASE_RECORD, record_data(supplier_id="B")]}).encode(), {}),
        ("", json.dumps({"suppliers": [BASE_RECORD], "explain": False}).encode(), {}),
        ("?scenario=suspension_lapses", json.dumps({"suppliers": [BASE_RECORD]}).encode(), {}),
        ("?scenario=nope", json.dumps({"suppliers": [BASE_RECORD]}).encode(), {}),
        ("", json.dumps({"suppliers": [BASE_RECORD, {"supplier_id": 1}]}).encode(), {}),
        ("", json.dumps({"suppliers": [BASE_RECORD] * 4}).encode(), {}),  # too many
        ("", b'{"suppliers": [', {}),
        ("", b"{}", {"content-type": "text/plain"}),
    ]
    with TestClient(lane_app) as lane, TestClient(routed_app) as routed:
        for query, body, headers in cases:
            sent = {**json_type, "x-request-id": "same", **headers}
            by_lane = lane.post("/v1/score/batch" + query, content=body, headers=sent)
            by_route = routed.post("/v1/score/batch" + query, content=body, headers=sent)
            assert by_route.status_code == by_lane.status_code, (query, body)
            assert by_route.content == by_lane.content, (query, body)
            assert by_route.headers["content-type"] == by_lane.headers["content-type"]
    assert answered == ["/v1/score/batch"] * len(cases)  # the lane did answer each


def test_batch_counts_rows_in_the_access_log(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client.post("/v1/score/batch", json={"suppliers": [BASE_RECORD] * 3})
    client.app.state.access.flush()  # type: ignore[attr-defined]
    lines = [line for line in capsys.readouterr().out.splitlines() if '"/v1/score/batch"' in line]
    assert '"items":3' in lines[-1]


def test_batch_words_type_errors_without_class_names(client: TestClient) -> None:
    response = client.post("/v1/score/batch", json={"suppliers": [3, "x"]})
    assert response.status_code == 200
    messages = [e["errors"][0]["message"] for e in response.json()["errors"]]
    assert messages == ["Input should be an object"] * 2
    response = client.post("/v1/score/batch", json=[BASE_RECORD])
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["field"], error["message"]) == ("(batch request)", "Input should be an object")


def test_batch_explain_error_says_what_is_allowed(client: TestClient) -> None:
    response = client.post("/v1/score/batch", json={"suppliers": [], "explain": "no"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].endswith("allowed: true or false")


def test_batch_accepts_a_utf8_byte_order_mark(client: TestClient) -> None:
    body = json.dumps({"suppliers": [BASE_RECORD]}).encode()
    response = client.post(
        "/v1/score/batch",
        content=b"\xef\xbb\xbf" + body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize(
    "bad",
    [b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80"],
    ids=["invalid start byte", "truncated", "overlong", "encoded surrogate"],
)
@pytest.mark.parametrize("where", ["supplier_id", "a field name"])
def test_batch_rejects_a_non_utf8_body_with_400_not_500(
    client: TestClient, bad: bytes, where: str
) -> None:
    body = json.dumps({"suppliers": [BASE_RECORD]}).encode()
    if where == "supplier_id":
        body = body.replace(BASE_RECORD["supplier_id"].encode(), b"V-" + bad)
    else:
        body = body.replace(b'"supplier_name"', b'"supplier_' + bad + b'name"')
    response = client.post(
        "/v1/score/batch", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_encoding"
    assert "not UTF-8" in response.json()["message"]


REQUIRED_ONLY = ("material", "origin_country", "licence_type", "end_use", "inventory_buffer_days")


def thread_calls(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Return the list each function the app runs in its worker thread is added to."""
    work = client.app.state.work  # type: ignore[attr-defined]
    calls: list[object] = []
    run = work.run

    async def spy(fn: object, *args: object) -> object:
        calls.append(fn)
        return await run(fn, *args)

    monkeypatch.setattr(work, "run", spy)
    return calls


@pytest.mark.parametrize(
    ("count", "every_field", "threaded"),
    [
        (10, True, False),
        (BATCH_ON_LOOP_ITEMS, False, False),
        (BATCH_ON_LOOP_ITEMS + 1, False, True),  # a small body, but many suppliers
        (2_000, True, True),  # a large body
    ],
)
def test_a_large_batch_is_scored_off_the_event_loop_a_small_one_on_it(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    every_field: bool,
    threaded: bool,
) -> None:
    calls = thread_calls(client, monkeypatch)
    suppliers = [
        record_data(supplier_id=f"S-{i}")
        if every_field
        else {"supplier_id": f"S-{i}", **{k: BASE_RECORD[k] for k in REQUIRED_ONLY}}
        for i in range(count)
    ]
    large = len(json.dumps({"suppliers": suppliers})) > BATCH_IN_THREAD_BYTES
    assert large is (count == 2_000)
    response = client.post("/v1/score/batch", json={"suppliers": suppliers})
    assert response.status_code == 200
    assert len(response.json()["results"]) == count
    assert bool(calls) is threaded


def test_a_small_body_of_thousands_of_invalid_rows_is_checked_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wording a row's errors costs some 60-75 us: 10,000 rows of {"supplier_id": ...} (229 KB,
    # under BATCH_IN_THREAD_BYTES) held the loop, and /healthz, for 0.6 s. Only a body the
    # one-pass decoder takes whole is scored on the loop.
    calls = thread_calls(client, monkeypatch)
    suppliers = [{"supplier_id": f"S-{i}"} for i in range(10_000)]
    assert len(json.dumps({"suppliers": suppliers})) <= BATCH_IN_THREAD_BYTES
    response = client.post("/v1/score/batch", json={"suppliers": suppliers})
    assert response.status_code == 200
    assert len(response.json()["errors"]) == 10_000
    assert calls
