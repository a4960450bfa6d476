"""POST /v1/score/csv: a supplier list in, the same rows back with scores, as CSV or JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest

from service.app import create_app
from supplier_risk.settings import Settings
from supplier_risk.tables import NO_DATA_ROWS
from tests.core import workbook_files
from tests.service.conftest import TestClient

CSV = (
    "supplier_id,material,origin_country,licence_type,end_use,inventory_buffer_days\n"
    "A,dy_oxide,CN,individual,defense,10\n"
    "B,unobtainium,CN,general,medical,5\n"
    "C,la_ce_oxide,MY,not_required,industrial,200\n"
)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_body_returns_rows_in_order_with_scores(client: TestClient) -> None:
    response = client.post("/v1/score/csv", content=CSV, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    out = rows(response.text)
    assert [r["supplier_id"] for r in out] == ["A", "B", "C"]
    assert out[0]["band"]
    assert out[0]["error"] == ""
    assert out[1]["band"] == ""
    assert "unobtainium" in out[1]["error"]
    assert list(out[0])[-5:] == ["probability", "risk_score", "band", "top_reasons", "error"]


def test_csv_multipart_file_as_json(client: TestClient) -> None:
    response = client.post(
        "/v1/score/csv",
        files={"file": ("suppliers.csv", CSV.encode(), "text/csv")},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["summary"]["rows"] == 3
    assert body["summary"]["invalid"] == 1
    assert body["rows"][2]["supplier_id"] == "C"


def test_csv_multipart_without_file_is_422(client: TestClient) -> None:
    response = client.post("/v1/score/csv", files={"upload": ("a.csv", CSV.encode())})
    assert response.status_code == 422
    assert "file field named 'file'" in response.json()["message"]


def test_csv_with_scenario(client: TestClient) -> None:
    response = client.post(
        "/v1/score/csv?scenario=suspension_lapses",
        content=CSV,
        headers={"content-type": "text/csv", "accept": "application/json"},
    )
    assert response.status_code == 200


def test_csv_without_required_columns_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/score/csv", content="name,colour\nx,red\n", headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "unreadable_csv"


def test_csv_with_a_first_row_far_too_long_is_422(client: TestClient) -> None:
    lines = CSV.splitlines()
    lines[1] += "," * 10
    response = client.post(
        "/v1/score/csv", content="\n".join(lines) + "\n", headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "unreadable_csv"
    assert "more than 8 cells beyond the header's 6" in response.json()["message"]


def test_csv_empty_is_422(client: TestClient) -> None:
    response = client.post("/v1/score/csv", content=b"", headers={"content-type": "text/csv"})
    assert response.status_code == 422
    assert "empty" in response.json()["message"]


def test_csv_wrong_content_type_is_415(client: TestClient) -> None:
    response = client.post("/v1/score/csv", json={"a": 1})
    assert response.status_code == 415
    message = response.json()["message"]
    assert f"'text/csv', '{XLSX}' (or .xlsm's own type) or 'application/octet-stream'" in message
    assert "the content decides" in message


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    "content_type",
    # .xlsm's own type, as a browser or curl --data-binary @list.xlsm labels it (any case)
    [XLSX, "application/octet-stream", "application/vnd.ms-excel.sheet.macroEnabled.12"],
)
@pytest.mark.parametrize("workbook", [True, False], ids=["xlsx", "csv"])
def test_csv_endpoint_takes_a_raw_body_labelled_as_a_workbook_or_bytes(
    client: TestClient, content_type: str, workbook: bool
) -> None:
    # The content decides how it is read, whatever the label: as for a multipart file.
    body = csv_as_workbook() if workbook else CSV.encode()
    response = client.post("/v1/score/csv", content=body, headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    expected = client.post("/v1/score/csv", content=CSV, headers={"content-type": "text/csv"})
    assert rows(response.text) == rows(expected.text)


def test_openapi_declares_the_raw_body_types_of_the_csv_endpoint(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    content = document["paths"]["/v1/score/csv"]["post"]["requestBody"]["content"]
    binary = {"type": "string", "format": "binary"}
    assert content[XLSX]["schema"] == content["application/octet-stream"]["schema"] == binary
    assert {"text/csv", "multipart/form-data"} <= set(content)


def test_csv_over_size_cap_is_413(settings: Settings) -> None:
    capped = settings.model_copy(update={"max_csv_bytes": 1024})
    with TestClient(create_app(capped)) as client:
        big = CSV + "D,dy_oxide,CN,individual,defense,10\n" * 100
        response = client.post("/v1/score/csv", content=big, headers={"content-type": "text/csv"})
        assert response.status_code == 413
        assert "limit is 1024 bytes" in response.json()["message"]


def test_csv_formula_cells_are_neutralised(client: TestClient) -> None:
    text = CSV + "=HYPERLINK(1),dy_oxide,CN,individual,defense,10\n"
    response = client.post("/v1/score/csv", content=text, headers={"content-type": "text/csv"})
    assert "\n'=HYPERLINK(1)," in response.text.replace("\r\n", "\n")


def test_csv_as_json_keeps_cells_under_repeated_and_blank_headers(client: TestClient) -> None:
    header, first = CSV.splitlines()[:2]
    text = f"{header},note,note,,,note_2\n{first},a,b,c,d,e\n"
    response = client.post(
        "/v1/score/csv",
        content=text,
        headers={"content-type": "text/csv", "accept": "application/json"},
    )
    assert response.status_code == 200
    row = response.json()["rows"][0]
    # the literal note_2 keeps its name, so the second note takes the next free number
    assert [row[k] for k in ("note", "note_3", "column_9", "column_10", "note_2")] == list("abcde")
    assert row["supplier_id"] == "A"


@pytest.mark.parametrize(
    ("accept", "json_wanted"),
    [
        ("", False),
        ("*/*", False),
        ("application/json", True),
        ("application/json, text/csv", True),  # a tie goes to JSON
        ("application/json;q=0.1, text/csv", False),
        ("text/csv;q=0.5, application/json", True),
        ("application/json;q=0", False),
        ("text/*, application/json;q=0.9", False),
        ("application/json;q=0.5, */*;q=0.1", True),
    ],
)
def test_csv_answer_follows_accept_weights(
    client: TestClient, accept: str, json_wanted: bool
) -> None:
    response = client.post(
        "/v1/score/csv", content=CSV, headers={"content-type": "text/csv", "accept": accept}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/json" if json_wanted else "text/csv"
    )


def csv_as_workbook() -> bytes:
    """Return the CSV test list as an .xlsx workbook (numbers as numbers)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in CSV.strip().split("\n"):
        cells: list[object] = [*line.split(",")]
        sheet.append([*cells[:-1], float(str(cells[-1]))] if cells[0] != "supplier_id" else cells)
    upload = io.BytesIO()
    book.save(upload)
    return upload.getvalue()


def test_csv_endpoint_scores_an_uploaded_workbook_like_its_csv(client: TestClient) -> None:
    response = client.post(
        "/v1/score/csv",
        files={"file": ("suppliers.xlsx", csv_as_workbook(), "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    expected = client.post("/v1/score/csv", content=CSV, headers={"content-type": "text/csv"})
    assert rows(response.text) == rows(expected.text)


@pytest.mark.parametrize(
    "damaged",
    [
        workbook_files.truncated_sheet,
        workbook_files.text_in_number_cell,
        workbook_files.flipped_sheet_bytes,
        workbook_files.only_a_chartsheet,
    ],
)
def test_csv_endpoint_answers_422_for_a_damaged_workbook(
    client: TestClient, damaged: Callable[[], bytes]
) -> None:
    response = client.post("/v1/score/csv", files={"file": ("list.xlsx", damaged())})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "unreadable_csv"
    assert response.json()["message"].startswith("the workbook ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (workbook_files.CFB_SIGNATURE + bytes(504), "encrypted (password-protected) workbook"),
        (workbook_files.plain_zip(), "a zip archive that is not an .xlsx workbook"),
        (b"PK\x03\x04not,a,zip\n", "neither a readable .xlsx workbook nor CSV"),
    ],
    ids=["ole", "zip", "pk-text"],
)
def test_csv_endpoint_says_what_a_binary_upload_is(
    client: TestClient, data: bytes, message: str
) -> None:
    response = client.post("/v1/score/csv", files={"file": ("list.xlsx", data)})
    assert response.status_code == 422, response.text
    assert message in response.json()["message"]
    assert "the workbook" not in response.json()["message"]


def test_csv_with_a_header_and_no_rows_is_422_as_in_the_cli(client: TestClient) -> None:
    header = CSV.split("\n", 1)[0] + "\n\n,,,,,\n"  # a blank line and an empty row: no supplier
    response = client.post("/v1/score/csv", content=header, headers={"content-type": "text/csv"})
    assert response.status_code == 422
    assert response.json()["message"] == NO_DATA_ROWS
