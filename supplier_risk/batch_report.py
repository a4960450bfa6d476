"""`supplier-risk score` end to end: read, score, write atomically, show progress and the summary.

The progress bar appears only on a terminal; the summary tables go to stderr always (plain
text when it is not a terminal), so stdout stays free for pipes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable

from supplier_risk.batch import BatchRun, score_csv
from supplier_risk.compare import load_previous
from supplier_risk.errors import (
    InputFileError,
    ModelFileError,
    OutputFileError,
    ReferenceDataError,
    UnknownScenarioError,
)
from supplier_risk.scorer import Scorer, build_scorer
from supplier_risk.settings import Settings
from supplier_risk.tables import NO_DATA_ROWS, Table, open_table

EXIT_OK = 0
EXIT_SOME_INVALID = 1
EXIT_UNREADABLE = 2
EXIT_NO_MODEL = 3
SHOWN = 5


def run_score(
    settings: Settings,
    *,
    input_file: Path,
    out: Path,
    model: Path | None = None,
    scenario: str | None = None,
    compare: Path | None = None,
    summary_out: Path | None = None,
    weight: str | None = None,
    excel_bom: bool = False,
    console: Console | None = None,
) -> int:
    """Score a supplier list file into ``out`` and return the exit code."""
    console = console or Console(stderr=True, soft_wrap=True)
    with ExitStack() as stack:
        try:
            table, summary_file = _open_outputs(stack, out, summary_out)
        except OutputFileError as exc:
            return _error(console, exc, EXIT_UNREADABLE)
        try:
            scorer = build_scorer(
                model or settings.resolved_model_path(),
                settings.reference_dir,
                settings.scenarios_path,
            )
        except (ModelFileError, ReferenceDataError) as exc:
            return _error(console, exc, EXIT_NO_MODEL)
        try:
            run, reader = _start_run(
                scorer, settings.current_date(), input_file, compare, scenario, weight
            )
            _write(reader, run, table, excel_bom, console)
            summary = run.summary_json(run.duplicates(reader))
            _commit(table, summary_file, summary)
        except (InputFileError, UnknownScenarioError, OutputFileError) as exc:
            return _error(console, exc, EXIT_UNREADABLE)
    render_summary(summary, console)
    console.print(
        f"scored {summary['scored']:,} of {summary['rows']:,} rows; "
        f"{summary['invalid']:,} invalid; wrote {out}",
        highlight=False,
    )
    return EXIT_SOME_INVALID if summary["invalid"] else EXIT_OK


def _open_outputs(
    stack: ExitStack, out: Path, summary_out: Path | None
) -> tuple[PendingFile, PendingFile | None]:
    """Open the outputs before any work, so a path that cannot be written wastes none."""
    if summary_out is not None and summary_out.resolve() == out.resolve():
        raise OutputFileError("--summary-out must name another file than --out")
    table = _pending(stack, out)
    return table, _pending(stack, summary_out) if summary_out is not None else None


def _start_run(
    scorer: Scorer,
    today: dt.date,
    input_file: Path,
    compare: Path | None,
    scenario: str | None,
    weight: str | None,
) -> tuple[BatchRun, Table]:
    """Open the supplier list (and the previous output to compare with) and set up the run."""
    _check_input(input_file, "cannot read")
    reader = open_table(input_file)
    previous = None
    if compare is not None:
        _check_input(compare, "--compare")
        previous = load_previous(compare, str(compare), scorer, today, scenario)
    run = BatchRun(scorer, reader.format, today, scenario, weight_column=weight, previous=previous)
    return run, reader


def _commit(table: PendingFile, summary_file: PendingFile | None, summary: Any) -> None:
    """Write the summary, then move both files into place (the scored table first)."""
    if summary_file is not None:
        summary_file.write(json.dumps(summary, indent=1) + "\n")
    table.commit()
    if summary_file is not None:
        summary_file.commit()


def _error(console: Console, exc: Exception, code: int) -> int:
    """Print one error line and return the exit code."""
    console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
    return code


def _check_input(path: Path, label: str) -> None:
    """Raise InputFileError unless ``path`` is a file, saying what it is instead."""
    if path.is_dir():
        raise InputFileError(f"{label} {path}: it is a directory, not a file")
    if not path.is_file():
        raise InputFileError(f"{label} {path}: no such file")


def _pending(stack: ExitStack, final: Path) -> PendingFile:
    """Open an output file's temporary sibling, removed on exit unless committed."""
    pending = PendingFile(final)
    stack.callback(pending.discard)
    pending.open()
    return pending


def check_output_path(path: Path) -> None:
    """Raise OutputFileError unless a file can be written at ``path`` (checked before any work)."""
    if path.is_dir():
        raise OutputFileError(f"cannot write {path}: it is a directory")
    if not path.parent.is_dir():
        raise OutputFileError(f"cannot write {path}: no directory {path.parent}")
    # Outputs are written beside their name and renamed over it: the directory must take files.
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputFileError(f"cannot write {path}: no permission to write in {path.parent}")


class PendingFile:
    """An output file written next to its final name and moved there only when complete."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.temporary: Path | None = None
        self._sink: TextIO | None = None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise OutputFileError(f"cannot write {self.final}: {exc.strerror or exc}") from None

    def open(self) -> None:
        """Create the temporary file now, so that a path that cannot be written fails early."""
        check_output_path(self.final)
        # A sibling, so the final rename stays on one file system; opened as usual, so it
        # gets the user's normal permissions (a mkstemp file would be private).
        self.temporary = self.final.with_name(f".{self.final.name}.{os.getpid()}.part")
        with self._writing():
            self._sink = self.temporary.open("w", encoding="utf-8", newline="")

    def write(self, text: str) -> None:
        """Append text (a full disk is an OutputFileError, not an OSError)."""
        assert self._sink is not None, "open() first"
        with self._writing():
            self._sink.write(text)

    def commit(self) -> None:
        """Close the file and move it to its final name."""
        assert self._sink is not None, "open() first"
        assert self.temporary is not None, "open() first"
        with self._writing():
            self._sink.close()
            self.temporary.replace(self.final)

    def discard(self) -> None:
        """Close and remove the temporary file (nothing to do once committed)."""
        if self._sink is not None:
            with suppress(OSError):
                self._sink.close()
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)


def _write(reader: Table, run: BatchRun, sink: PendingFile, bom: bool, console: Console) -> None:
    """Score every chunk into ``sink``, with a progress bar on a terminal."""
    if console.is_terminal:
        with Progress(
            TextColumn("scoring"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("score", total=reader.size or None, rows=0)

            def advance(rows: int) -> None:
                done = bar.tasks[0].fields["rows"] + rows
                bar.update(task, completed=reader.position(), rows=done)

            for text in score_csv(reader, run, bom=bom, progress=advance):
                sink.write(text)
    else:
        for text in score_csv(reader, run, bom=bom):
            sink.write(text)
    if run.summary.rows == 0:
        raise InputFileError(NO_DATA_ROWS)


TEXT_COLUMNS = {"band", "material", "origin", "supplier_id", "top origin", "moved most", "row"}


def _table(title: str, columns: list[str]) -> RichTable:
    table = RichTable(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for name in columns:
        table.add_column(name, justify="left" if name in TEXT_COLUMNS else "right")
    return table


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def render_summary(summary: dict[str, Any], console: Console) -> None:
    """Print the portfolio summary as tables."""
    weighted = summary.get("weight_column") is not None
    weight_label = f"by {summary['weight_column']}" if weighted else ""
    scored = max(summary["scored"], 1)
    bands = _table(
        "Suppliers by band", ["band", "suppliers", "share", *([weight_label] * weighted)]
    )
    for label, entry in summary["bands"].items():
        bands.add_row(
            label,
            f"{entry['suppliers']:,}",
            f"{entry['suppliers'] / scored:.1%}",
            *([_number(entry["weight"])] * weighted),
        )
    console.print(bands)
    materials = _table(
        "Materials (largest first)",
        [
            "material",
            "suppliers",
            "mean p",
            "origins HHI",
            "top origin",
            *([weight_label] * weighted),
        ],
    )
    for entry in summary["materials"][:SHOWN]:
        hhi = entry["origins_hhi"]  # None when the material's whole weight is 0
        materials.add_row(
            entry["material"],
            f"{entry['suppliers']:,}",
            f"{entry['mean_probability']:.3f}",
            f"{hhi['hhi']:,.0f}" if hhi else "-",
            f"{hhi['top_origin']} {hhi['top_origin_share']:.0%}" if hhi else "-",
            *([_number(entry["weight"])] * weighted),
        )
    console.print(materials)
    origins = _table("Origins (largest first)", ["origin", "suppliers", "mean p"])
    for entry in summary["origins"][:SHOWN]:
        origins.add_row(
            entry["origin_country"], f"{entry['suppliers']:,}", f"{entry['mean_probability']:.3f}"
        )
    console.print(origins)
    risks = _table("Top risks", ["row", "supplier_id", "p", "band", "material", "origin"])
    for entry in summary["top_risks"][:SHOWN]:
        risks.add_row(
            str(entry["row"]),
            entry["supplier_id"],
            f"{entry['probability']:.3f}",
            entry["band"],
            entry["material"],
            entry["origin_country"],
        )
    console.print(risks)
    for entry in summary["policy_notes"][:SHOWN]:
        # An analyst must see which scores rest on rules nobody knows yet, and how to test them.
        note = escape(entry["note"])
        console.print(
            f"[yellow]policy note for {entry['suppliers']:,} supplier(s):[/] {note}",
            highlight=False,
        )
    comparison = summary.get("comparison")
    if comparison is not None:
        movers = _table(
            f"Top movers against {comparison['previous_file']}",
            ["row", "supplier_id", "before", "now", "change", "moved most"],
        )
        for entry in comparison["top_movers"][:SHOWN]:
            movers.add_row(
                str(entry["row"]),
                entry["supplier_id"],
                f"{entry['previous_probability']:.3f} {entry['previous_band']}",
                f"{entry['probability']:.3f} {entry['band']}",
                f"{entry['probability_change']:+z.3f}",
                entry["moved_most"],
            )
        console.print(movers)
        console.print(
            f"compared: {comparison['matched']:,} matched ({comparison['band_up']:,} band up, "
            f"{comparison['band_down']:,} down); {comparison['new']:,} new; "
            f"{comparison['vanished']:,} vanished"
            + (
                f" e.g. {', '.join(comparison['vanished_ids'][:SHOWN])}"
                if comparison["vanished"]
                else ""
            ),
            highlight=False,
        )
    for warning in summary["read"]["warnings"]:
        console.print(f"note: {warning}", highlight=False)
    if summary["duplicate_supplier_ids"]:
        shown = ", ".join(
            f"{d['supplier_id']} (rows {', '.join(map(str, d['rows']))})"
            for d in summary["duplicate_supplier_ids"][:SHOWN]
        )
        console.print(f"[yellow]repeated supplier_id:[/] {shown}", highlight=False)
    errors = summary["errors"]
    if errors["rows"]:
        fields = ", ".join(f"{k} {v:,}" for k, v in errors["by_field"].items())
        console.print(f"[yellow]invalid rows:[/] {errors['rows']:,} ({fields})", highlight=False)
        for entry in errors["first"][:SHOWN]:
            console.print(f"  row {entry['row']}: {entry['error']}", highlight=False, markup=False)
