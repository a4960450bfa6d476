"""The `supplier-risk` command: simulate, train, score, scenarios, serve (the composition root).

Commands import ``training`` or ``service`` inside their bodies, so `supplier-risk score`
never loads scikit-learn or FastAPI.

Exit codes: 0 all done; 1 some rows were invalid (their errors are in the output);
2 nothing could be read, an output cannot be written, or the command was used wrongly (for
`score`: no output is written);
3 the model or reference data could not be loaded.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from supplier_risk import __version__
from supplier_risk.errors import (
    InputFileError,
    OutputFileError,
    ReferenceDataError,
    SupplierRiskError,
)
from supplier_risk.settings import Settings

EXIT_OK = 0
EXIT_SOME_INVALID = 1
EXIT_UNREADABLE = 2
EXIT_NO_MODEL = 3
MAX_INVALID_SHOWN = 10

app = typer.Typer(
    help="Score rare-earth suppliers for the risk of disruption by China's export controls.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"supplier-risk {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Score rare-earth suppliers for the risk of disruption by China's export controls."""


def _fail(message: str, code: int) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _require_training() -> None:
    """Fail clearly where the training extra is not installed (e.g. the serving image)."""
    from importlib.util import find_spec

    missing = [name for name in ("sklearn", "scipy") if find_spec(name) is None]
    if missing:
        raise _fail(
            f"this command needs the training extra ({', '.join(missing)} not installed): "
            "pip install 'supplier-risk[train]', or use ./scripts/test's .venv",
            EXIT_UNREADABLE,
        )


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"SUPPLIER_RISK_{'_'.join(str(p) for p in e['loc']).upper()}={e['input']!r}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise _fail(f"invalid setting: {problems}", EXIT_UNREADABLE) from None


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
    rows: Annotated[int, typer.Option("--rows", min=1, max=50_000_000)] = 200_000,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
) -> None:
    """Write a labelled supplier history from the domain simulator."""
    _require_training()
    from training.simulate import SimulationConfig, write_history

    try:
        frame = write_history(SimulationConfig(rows=rows, seed=seed), out)
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}", EXIT_UNREADABLE) from None
    typer.echo(
        f"wrote {len(frame):,} rows to {out} (seed {seed}, "
        f"positive rate {frame['disrupted'].mean():.3f})"
    )


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", help="model file to write (JSON)")],
    data: Annotated[
        Path | None, typer.Option("--data", help="training CSV (default: a fresh simulated one)")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="split and estimator seed")] = 0,
    sim_rows: Annotated[
        int, typer.Option("--sim-rows", min=1000, help="rows to simulate when --data is not given")
    ] = 200_000,
    report: Annotated[
        Path | None, typer.Option("--report", help="also write the metrics report as JSON")
    ] = None,
) -> None:
    """Fit the interpretable model and write the model file, with held-out metrics."""
    _require_training()
    import tempfile
    import warnings

    from supplier_risk.batch_report import check_output_path
    from supplier_risk.history import ReadNote, read_history
    from supplier_risk.reference import load_reference
    from supplier_risk.summary import row_number
    from training.report import format_report
    from training.simulate import SimulationConfig, write_history
    from training.train import label_warnings, train_model

    settings = _settings()
    try:
        # Before reading and fitting, as score does: a typo in a path wasted the whole run.
        for output in (out, report):
            if output is not None:
                check_output_path(output)
        reference = load_reference(settings.reference_dir)
        with tempfile.TemporaryDirectory() as tmp:
            source = str(data) if data is not None else f"simulated, {sim_rows} rows, seed {seed}"
            path = data
            if path is None:
                path = Path(tmp) / "history.csv"
                write_history(SimulationConfig(rows=sim_rows, seed=seed), path)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                history = read_history(path, reference)
            for warning in caught:
                kind = "note" if issubclass(warning.category, ReadNote) else "warning"
                typer.echo(f"{kind}: {warning.message}", err=True)
            typer.echo(
                f"read {history.rows_read:,} rows: {len(history.labels):,} valid, "
                f"{len(history.invalid_rows):,} invalid (not used)",
                err=True,
            )
            for index, message in history.invalid_rows[:MAX_INVALID_SHOWN]:
                typer.echo(f"  row {row_number(index)}: {message}", err=True)
            if len(history.invalid_rows) > MAX_INVALID_SHOWN:
                typer.echo(
                    f"  ... and {len(history.invalid_rows) - MAX_INVALID_SHOWN:,} more", err=True
                )
            today = settings.current_date()
            # Only for a file given: the simulator's dates are its own, labelled by its mechanism.
            if data is not None:
                for said in label_warnings(history.columns.as_of, today):
                    typer.echo(f"warning: {said}", err=True)
            result = train_model(history, reference, out, seed=seed, source=source, today=today)
    except (InputFileError, OutputFileError) as exc:
        raise _fail(str(exc), EXIT_UNREADABLE) from None
    except SupplierRiskError as exc:
        raise _fail(str(exc), EXIT_NO_MODEL) from None
    except OSError as exc:
        raise _fail(
            f"cannot write {exc.filename or out}: {exc.strerror or exc}", EXIT_UNREADABLE
        ) from None
    typer.echo(format_report(result))
    for said in result.warnings:
        typer.echo(f"warning: {said}", err=True)
    if report is not None:
        try:
            report.write_text(json.dumps(result.metrics, indent=1) + "\n", "utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {report}: {exc.strerror or exc}", EXIT_UNREADABLE) from None


@app.command()
def score(
    input_file: Annotated[Path, typer.Argument(help="supplier list (CSV, or .xlsx)")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write")],
    model: Annotated[Path | None, typer.Option("--model", help="model file")] = None,
    scenario: Annotated[str | None, typer.Option("--scenario", help="what-if scenario")] = None,
    compare: Annotated[
        Path | None,
        typer.Option("--compare", help="a previous output of this command, to compare with"),
    ] = None,
    summary_out: Annotated[
        Path | None, typer.Option("--summary-out", help="write the portfolio summary as JSON")
    ] = None,
    weight: Annotated[
        str | None,
        typer.Option("--weight", help="column to weight the summary by (e.g. annual spend)"),
    ] = None,
    excel_bom: Annotated[
        bool, typer.Option("--excel-bom", help="start the output with a BOM, for Excel")
    ] = False,
) -> None:
    """Rescore a supplier list: the same rows back with probability, band, reasons, error.

    Exit codes: 0 every row scored; 1 some rows invalid (each with its error in the output);
    2 nothing could be read or an output cannot be written (and no output is written);
    3 the model could not be loaded.
    """
    from supplier_risk.batch_report import run_score

    settings = _settings()
    raise typer.Exit(
        run_score(
            settings,
            input_file=input_file,
            out=out,
            model=model,
            scenario=scenario,
            compare=compare,
            summary_out=summary_out,
            weight=weight,
            excel_bom=excel_bom,
        )
    )


@app.command()
def scenarios() -> None:
    """List the named what-if scenarios (exit 3 if a scenario does not fit the policy table)."""
    from supplier_risk.reference import load_reference
    from supplier_risk.scenarios import load_scenarios

    settings = _settings()
    try:
        book = load_scenarios(settings.scenarios_path)
        # Checked as score and serve check it: a file listed here is a file they accept.
        book.check_against(load_reference(settings.reference_dir))
    except ReferenceDataError as exc:
        raise _fail(str(exc), EXIT_NO_MODEL) from None
    for scenario in book.scenarios.values():
        typer.echo(f"{scenario.name:28} {scenario.title}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host", help="address to bind")] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535)] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64)] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="model file (default: SUPPLIER_RISK_MODEL_PATH, or shipped)"),
    ] = None,
) -> None:
    """Run the HTTP service (uvicorn with uvloop and httptools)."""
    from service.run import run

    if model is not None:
        # Worker processes read their settings from the environment: they must see it too.
        os.environ["SUPPLIER_RISK_MODEL_PATH"] = str(model.resolve())
    settings = _settings()
    updates = {"host": host, "port": port, "workers": workers}
    settings = settings.model_copy(update={k: v for k, v in updates.items() if v is not None})
    raise typer.Exit(run(settings))


def main() -> None:
    """Run the CLI; no stack trace reaches the user for errors raised on purpose."""
    try:
        app()
    except SupplierRiskError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_UNREADABLE)


if __name__ == "__main__":  # python -m supplier_risk.cli, as the console script
    main()
