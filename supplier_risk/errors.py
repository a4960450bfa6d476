"""Errors raised by the core, translated to HTTP status codes and CLI exit codes at one edge.

SupplierRiskError
├── RecordError            a supplier record or row breaks the contract (HTTP 422)
├── ReferenceDataError     a materials, end-use, policy or scenario file is unusable
├── ModelFileError         a model file is unreadable, tampered with or of an unknown version
├── UnknownScenarioError   a scenario name that the scenario file does not define (HTTP 422)
├── InputFileError         a supplier list or training file cannot be read at all
└── OutputFileError        an output file cannot be written (a missing directory, a directory)
"""

from collections.abc import Sequence

from pydantic_core import ErrorDetails


class SupplierRiskError(Exception):
    """Base class of every error the core raises on purpose."""


class RecordError(SupplierRiskError):
    """A supplier record breaks the contract."""


class ReferenceDataError(SupplierRiskError):
    """A reference data file is missing, malformed or inconsistent."""


class ModelFileError(SupplierRiskError):
    """A model file cannot be trusted or understood."""


class UnknownScenarioError(SupplierRiskError):
    """A scenario name is not defined in the scenario file."""


class InputFileError(SupplierRiskError):
    """A supplier list or training file cannot be read at all."""


class OutputFileError(SupplierRiskError):
    """An output file cannot be written."""


def first_problem(errors: Sequence[ErrorDetails]) -> str:
    """Return pydantic's first validation error as 'where: what' for a file-level message."""
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}"
