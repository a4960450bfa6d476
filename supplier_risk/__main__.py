"""``python -m supplier_risk``: the CLI, where the console script is not on PATH."""

from supplier_risk.cli import main

main()
