"""``python -m health_equity.outputs.report``: write the report (see cli.main)."""

from health_equity.outputs.report.cli import main

raise SystemExit(main())
