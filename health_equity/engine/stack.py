"""The statistics stack the dbt Python models run on, imported in one place, first.

dbt runs two models at once on its worker threads. Two threads importing scikit-learn and
statsmodels (and narwhals beneath them) at the same moment can deadlock on Python's per-module
import locks ("_DeadlockError ... narwhals.stable.v1"). Every file in ``models/`` that is a
Python model imports this module before anything else: the first thread to get here imports the
whole stack while it holds this one module's import lock, and a second thread waits for that lock,
holding no other, instead of racing it. By the time either goes on, everything below is imported.

Only runs that build a Python model pay the ~4 s these imports take; a run of SQL models, a
`dbt docs generate` or a run that stops at the extract checks does not.
"""

# narwhals is imported lazily beneath the libraries (where the deadlock was seen); the package's
# statistics modules import numpy, pandas, scipy, scikit-learn and statsmodels themselves.
import narwhals.stable.v1  # noqa: F401
import narwhals.stable.v2  # noqa: F401

import health_equity.engine.relations  # noqa: F401
import health_equity.stats.clusters  # noqa: F401
import health_equity.stats.hospital_regression  # noqa: F401
import health_equity.stats.inequality  # noqa: F401
import health_equity.stats.rates  # noqa: F401
