"""Parsing the JSON data files (model, scenarios, reference tables): one place says what is wrong.

Python's json raises more than JSONDecodeError on hostile text: RecursionError when arrays or
objects nest deeper than the interpreter's recursion limit, and ValueError for an integer of
more digits than int() accepts (CVE-2020-10735). Every loader gets the same clear message.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from supplier_risk.errors import SupplierRiskError

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a data file may have; ours need fewer than ten.

Kept well below the recursion limit, so that whatever reads a loaded document again (the
model file's hash, the JSON encoder answering GET /v1/model) never meets a depth it refuses.
"""


def nested_too_deeply(source: str) -> str:
    """Return the message for a file whose arrays or objects nest deeper than MAX_DEPTH."""
    return (
        f"{source} is nested too deeply (arrays or objects more than {MAX_DEPTH} levels "
        "inside each other)"
    )


def _depth_exceeds(document: Any, limit: int) -> bool:
    """Return whether arrays and objects nest more than ``limit`` levels in a document."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(
    text: str | bytes,
    source: str,
    error: type[SupplierRiskError],
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """Return the parsed text of ``source``, or raise ``error`` saying why it cannot be read.

    Bytes are decoded as JSON allows (UTF-8, or UTF-16/32 recognised by their first bytes).
    """
    try:
        document = json.loads(text, parse_constant=parse_constant)
    except RecursionError:
        raise error(nested_too_deeply(source)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{source} is not valid JSON: {exc}") from exc
    except ValueError:
        # What is left of ValueError here is int()'s digit limit; its own message advises
        # sys.set_int_max_str_digits, which is no help to whoever wrote the file.
        raise error(
            f"{source} has a number too long to read (more than "
            f"{sys.get_int_max_str_digits():,} digits)"
        ) from None
    if _depth_exceeds(document, MAX_DEPTH):
        raise error(nested_too_deeply(source))
    try:
        # A JSON escape can spell half a UTF-16 pair (a lone \ud800), which no UTF-8 text holds:
        # the model's hash and every response that shows the text would fail on it later.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(
            f"{source} holds text that is not valid Unicode (a lone surrogate escape such as "
            f"\\u{ord(exc.object[exc.start]):04x})"
        ) from None
    return document
