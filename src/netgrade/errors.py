"""One exception hierarchy and the records of recoverable oddities.

Errors stop an analysis and say exactly what is wrong and where (file, row, study,
column).  Recoverable oddities -- a continuity correction, tau² on its boundary, a
fallback -- do not stop anything: they are recorded as :class:`AnalysisWarning`
objects on the result that they affect, so that a report can show them next to the
number they qualify.  Studies left out of an analysis are never dropped silently: each
one is an :class:`ExcludedStudy` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


class NetgradeError(Exception):
    """Base class of every error netgrade raises on purpose."""


class DataError(NetgradeError):
    """Input data that cannot be analysed as given.

    ``issues`` lists every problem found (validation does not stop at the first), each
    located by file, row, study and column.
    """

    def __init__(self, message: str, issues: Iterable["DataIssue"] = ()):
        self.issues: tuple[DataIssue, ...] = tuple(issues)
        if self.issues:
            shown = "\n".join(f"  - {issue}" for issue in self.issues[:50])
            more = len(self.issues) - 50
            if more > 0:
                shown += f"\n  - ... and {more} more"
            message = f"{message}\n{shown}"
        super().__init__(message)


class ModelError(NetgradeError):
    """A model that cannot be fitted to the data given (e.g. k = 1 with Hartung-Knapp)."""


class ConvergenceError(ModelError):
    """An iterative estimator that did not reach its solution."""


class SpecError(NetgradeError):
    """An analysis specification that is invalid (names the key and the file)."""


@dataclass(frozen=True)
class DataIssue:
    """One problem in an input table, located as precisely as the input allows.

    ``row`` counts as a spreadsheet does: the header is row 1 and the first record is
    row 2 (for JSON input, the 1-based position of the record in its list).
    """

    problem: str
    file: str | None = None
    row: int | None = None
    study: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.study is not None:
            where.append(f"study {self.study!r}")
        if self.column:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.problem}" if prefix else self.problem


@dataclass(frozen=True)
class AnalysisWarning:
    """A recoverable oddity carried on a result.

    ``code`` is a stable machine-readable key (``"continuity_correction"``,
    ``"tau2_boundary"``, ...); ``studies`` names the studies concerned, if any.
    """

    code: str
    message: str
    studies: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "studies": list(self.studies)}


@dataclass(frozen=True)
class ExcludedStudy:
    """A study left out of an analysis, with the reason (never dropped silently)."""

    study: str
    reason: str

    def __str__(self) -> str:
        return f"{self.study}: {self.reason}"

    def to_dict(self) -> dict:
        return {"study": self.study, "reason": self.reason}
