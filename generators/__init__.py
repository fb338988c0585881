"""Synthetic extract generators for the health-equity warehouse.

Faker builds small pools of realistic strings; every row is drawn with numpy from a seeded
generator, so the same ``--seed`` gives byte-identical files. Each run writes ``truth.json``
(the planted parameters, for evaluation only) and ``manifest.json`` (files, rows, sha256,
injected faults) beside the extracts.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
