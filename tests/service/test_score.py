"""POST /v1/score: one record in, one contract result out; every bad input a clear 4xx."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.app import create_app
from service.errors import ErrorBody
from supplier_risk.results import ScoreResult
from supplier_risk.settings import Settings
from tests.conftest import BASE_RECORD, record_data
from tests.service.conftest import TestClient

JSON = {"content-type": "application/json"}


def error_of(response: Any) -> ErrorBody:
    return ErrorBody.model_validate(response.json())


def test_score_returns_contract_result(client: TestClient) -> None:
    response = client.post("/v1/score", json=BASE_RECORD)
    assert response.status_code == 200
    result = ScoreResult.model_validate(response.json())
    assert result.supplier_id == "V-10023"
    assert result.risk_score == round(100 * result.probability)
    assert result.reasons
    assert result.contributions
    assert result.model.version


def test_score_matches_the_batch_path(client: TestClient) -> None:
    one = client.post("/v1/score", json=BASE_RECORD).json()
    batch = client.post("/v1/score/batch", json={"suppliers": [BASE_RECORD]}).json()
    assert one == batch["results"][0]  # every number to the last bit
    assert one["reasons"] == batch["results"][0]["reasons"]


def test_score_under_scenario_names_it(client: TestClient) -> None:
    response = client.post("/v1/score?scenario=suspension_lapses", json=BASE_RECORD)
    assert response.status_code == 200
    assert response.json()["scenario"] == "suspension_lapses"
    assert "suspension_lapses" in response.json()["policy"]["version"]


def test_score_rejects_unknown_scenario_listing_allowed(client: TestClient) -> None:
    response = client.post("/v1/score?scenario=nope", json=BASE_RECORD)
    assert response.status_code == 422
    body = error_of(response)
    assert body.error == "unknown_scenario"
    assert "allowed: baseline" in body.message
    assert body.errors[0].field == "scenario"


def test_score_lists_each_invalid_field_with_value_and_allowed(client: TestClient) -> None:
    data = record_data(material="unobtainium", licence_type="maybe", inventory_buffer_days=5000)
    response = client.post("/v1/score", json=data)
    assert response.status_code == 422
    errors = {e.field: e for e in error_of(response).errors}
    assert errors["material"].value == "unobtainium"
    assert "is not one of: la_ce_oxide" in errors["material"].message
    assert errors["licence_type"].value == "maybe"
    assert "'not_required'" in errors["licence_type"].message
    assert errors["inventory_buffer_days"].value == 5000
    assert "less than or equal to 3650" in errors["inventory_buffer_days"].message


def test_score_rejects_unknown_field_naming_allowed(client: TestClient) -> None:
    response = client.post("/v1/score", json=record_data(inventory_days=3))
    assert response.status_code == 422
    error = error_of(response).errors[0]
    assert error.field == "inventory_days"
    assert error.message.startswith("unknown field; allowed fields: supplier_id")


def test_score_error_never_echoes_the_request(client: TestClient) -> None:
    secret = "a-long-confidential-supplier-name-" * 5
    response = client.post("/v1/score", json={"supplier_name": secret, "supplier_id": "x" * 500})
    assert response.status_code == 422
    assert secret not in response.text
    errors = {e.field: e for e in error_of(response).errors}
    assert errors["material"].value is None  # a missing field shows no value, not the object
    assert errors["supplier_id"].value == "x" * 40 + "..."


def test_score_lists_at_most_20_errors(client: TestClient) -> None:
    data = {f"extra_{i}": i for i in range(50)}
    response = client.post("/v1/score", json=data)
    assert response.status_code == 422
    body = error_of(response)
    assert len(body.errors) == 20
    assert "the first 20 are listed" in body.message


def test_score_rejects_malformed_json(client: TestClient) -> None:
    response = client.post("/v1/score", content=b'{"supplier_id": ', headers=JSON)
    assert response.status_code == 400
    assert error_of(response).error == "malformed_json"
    assert "not valid JSON" in error_of(response).message


@pytest.mark.parametrize(
    ("body", "wording"),
    [
        (b"", "the body is empty"),
        (b"  \n", "the body is empty"),
        (b'{"supplier_id": "V-1",}', "not valid JSON: trailing comma"),
        (b"[[[[" * 100 + b"]]]]" * 100, "recursion limit exceeded"),
        (b'{"supplier_id": "NaN"', "EOF while parsing"),  # text, not a number
        (b'{"supplier_name": "Infinity Magnets",}', "trailing comma"),
    ],
)
def test_score_says_why_a_body_is_not_json(client: TestClient, body: bytes, wording: str) -> None:
    response = client.post("/v1/score", content=body, headers=JSON)
    assert response.status_code == 400
    message = error_of(response).message
    assert wording in message
    assert "NaN" not in message  # the finite-numbers hint only where it explains the failure


def test_score_names_nan_where_it_breaks_the_json(client: TestClient) -> None:
    response = client.post("/v1/score", content=b'{"supplier_id": [NaN', headers=JSON)
    assert response.status_code == 400
    assert "NaN and Infinity are not JSON" in error_of(response).message


def test_score_accepts_a_utf8_byte_order_mark(client: TestClient) -> None:
    body = json.dumps(BASE_RECORD).encode()
    plain = client.post("/v1/score", content=body, headers=JSON).json()
    marked = client.post("/v1/score", content=b"\xef\xbb\xbf" + body, headers=JSON)
    assert marked.status_code == 200
    assert marked.json() == plain
    twice = client.post("/v1/score", content=b"\xef\xbb\xbf" * 2 + body, headers=JSON)
    assert twice.status_code == 400


def test_score_rejects_non_utf8_body(client: TestClient) -> None:
    body = '{"supplier_id": "Müller"}'.encode("latin-1")
    response = client.post("/v1/score", content=body, headers=JSON)
    assert response.status_code == 400
    assert error_of(response).error == "invalid_encoding"
    assert "not UTF-8" in error_of(response).message


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_score_rejects_non_finite_numbers(client: TestClient, token: str) -> None:
    text = '{"supplier_id": "V-1", "material": "dy_oxide", "origin_country": "CN", '
    text += '"licence_type": "general", "end_use": "medical", '
    text += f'"inventory_buffer_days": {token}}}'
    response = client.post("/v1/score", content=text.encode(), headers=JSON)
    assert response.status_code == 422
    error = error_of(response).errors[0]
    assert error.field == "inventory_buffer_days"
    assert "finite number" in error.message


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("china_share", 1.5, "less than or equal to 1"),
        ("alternate_suppliers", -1, "greater than or equal to 0"),
        ("alternate_suppliers", 10**30, "less than or equal to 1000"),
        ("inventory_buffer_days", -0.5, "greater than or equal to 0"),
        ("origin_country", "XX", "not an ISO 3166-1 alpha-2 country code"),
        ("as_of", "2026-02-30", "valid date"),
    ],
)
def test_score_rejects_out_of_range_values(
    client: TestClient, field: str, value: Any, message: str
) -> None:
    response = client.post("/v1/score", json=record_data(**{field: value}))
    assert response.status_code == 422
    error = error_of(response).errors[0]
    assert error.field == field
    assert message in error.message


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_score_rejects_wrong_content_type(client: TestClient, content_type: str) -> None:
    response = client.post("/v1/score", content=b"{}", headers={"content-type": content_type})
    assert response.status_code == 415
    assert "send 'application/json'" in error_of(response).message


def test_score_rejects_a_json_array(client: TestClient) -> None:
    response = client.post("/v1/score", json=[BASE_RECORD])
    assert response.status_code == 422
    assert error_of(response).errors[0].field == "(record)"


def test_score_accepts_json_with_charset(client: TestClient) -> None:
    response = client.post(
        "/v1/score",
        content=client.post("/v1/score", json=BASE_RECORD).request.content,
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_get_on_score_is_405_with_error_body(client: TestClient) -> None:
    response = client.get("/v1/score")
    assert response.status_code == 405
    assert error_of(response).error == "method_not_allowed"


def test_unknown_path_is_404_with_error_body(client: TestClient) -> None:
    response = client.get("/v2/nothing")
    assert response.status_code == 404
    assert error_of(response).request_id == response.headers["x-request-id"]


def test_declared_route_answers_like_the_fast_lane(client: TestClient, settings: Settings) -> None:
    """The FastAPI route (served where the edge middleware has no lane) gives the same body."""
    routed_app = create_app(settings)
    assert routed_app.edge is not None
    routed_app.edge.lane = None
    cases = [
        ("", BASE_RECORD),
        ("?scenario=suspension_lapses", BASE_RECORD),
        ("?scenario=nope", BASE_RECORD),
        ("", {"supplier_id": 1}),
    ]
    with TestClient(routed_app) as routed:
        for query, body in cases:
            headers = {"x-request-id": "same"}
            lane = client.post("/v1/score" + query, json=body, headers=headers)
            route = routed.post("/v1/score" + query, json=body, headers=headers)
            assert route.status_code == lane.status_code
            assert route.json() == lane.json()
        wrong = routed.post("/v1/score", content=b"{}", headers={"content-type": "text/plain"})
        assert wrong.status_code == 415


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("inventory_buffer_days", -3, "allowed: a number from 0 to 3650"),
        ("china_share", 1.5, "allowed: a number from 0 to 1"),
        ("licence_type", "Individual", "'individual'"),
        ("alternate_suppliers", 2.5, "allowed: a whole number from 0 to 1000"),
        ("supplier_id", None, "allowed: a string of 1 to 64 characters"),
    ],
)
def test_score_error_says_what_the_field_allows(
    client: TestClient, field: str, value: Any, allowed: str
) -> None:
    data = {**BASE_RECORD, field: value}
    if value is None:
        del data[field]
    response = client.post("/v1/score", json=data)
    assert response.status_code == 422
    (error,) = error_of(response).errors
    assert error.field == field
    assert allowed in error.message
