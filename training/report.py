"""The printed training report: held-out metrics of our model next to the two references."""

from __future__ import annotations

from typing import Any, Protocol

ROWS = (
    ("held_out", "supplier-risk (additive, monotone)"),
    ("logistic_regression", "reference: logistic regression"),
    ("hgb_unconstrained", "reference: unconstrained HGB"),
)


class _Report(Protocol):
    metrics: dict[str, dict[str, float]]
    document: dict[str, Any]
    seconds: float
    rows: int
    sha256: str
    phases: dict[str, float]


def format_report(report: _Report) -> str:
    """Return a fixed-width table of held-out ROC AUC, log loss, Brier and ECE."""
    fitted, held_out = (int(report.document["training"][k]) for k in ("rows", "held_out_rows"))
    lines = [
        # The file's training.rows counts the rows fitted; name both, so the two agree.
        f"trained on {fitted:,} of {report.rows:,} valid rows (the other {held_out:,} held out) "
        f"in {report.seconds:.1f} s; model sha256 {report.sha256}",
        "  seconds by phase: " + ", ".join(f"{k} {v:.1f}" for k, v in report.phases.items()),
        f"{'held-out 20%':40} {'ROC AUC':>8} {'log loss':>9} {'Brier':>7} {'ECE(10)':>8}",
    ]
    for key, label in ROWS:
        m = report.metrics[key]
        lines.append(
            f"{label:40} {m['roc_auc']:8.4f} {m['log_loss']:9.4f} {m['brier']:7.4f} "
            f"{m['ece_10']:8.4f}"
        )
    ours, free = report.metrics["held_out"], report.metrics["hgb_unconstrained"]
    lines.append(
        f"vs unconstrained HGB: ROC AUC {ours['roc_auc'] - free['roc_auc']:+.4f}, "
        f"log loss {ours['log_loss'] - free['log_loss']:+.4f}"
    )
    pairs = report.document["training"]["params"].get("pairs", [])
    lines.append("pairs in the model: " + (", ".join(pairs) or "none"))
    gains = report.metrics.get("pair_selection_log_loss_gain", {})
    if gains:
        lines.append(
            "candidate pairs (greedy forward selection; inner held-out log-loss gain when added "
            "or when last tried):"
        )
        lines.extend(f"  {name:44} {gain:+.5f}" for name, gain in gains.items())
    return "\n".join(lines)
