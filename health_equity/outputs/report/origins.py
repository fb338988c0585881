"""The files each section rests on, their origin and vintage, and the synthetic or mixed data banners."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

SECTION_SOURCES = {"hospitals": "hospitals_raw", "asthma": "asthma_raw"}
SECTION_SUBJECTS = {"hospitals": "real hospitals", "asthma": "real patients"}


@dataclass(frozen=True)
class Origin:
    """What templates/origin.html.j2 shows under a section's title."""

    section: str
    files: list[tuple[str, str, str, str]]  # extract name, file name, origin, vintage
    absent: list[str]  # optional extracts not supplied
    synthetic: list[str]  # extracts whose file was generated
    subjects: str  # what real files would describe, e.g. "real patients"

    @property
    def every_file_synthetic(self) -> bool:
        return len(self.synthetic) == len(self.files)


def section_origin(provenance: pd.DataFrame, section: str) -> Origin:
    """Under a section's title: each file it rests on, with its vintage and origin, and one banner
    when any of them is synthetic."""
    p = provenance[(provenance.source_name == SECTION_SOURCES[section])]
    present = p[p.file_exists.fillna(False).astype(bool)].sort_values("extract_name")
    absent = p[~p.file_exists.fillna(False).astype(bool)]
    return Origin(
        section,
        [
            (str(r.extract_name), os.path.basename(str(r.file_path)), str(r.origin), str(r.vintage))
            for r in present.itertuples()
        ],
        sorted(absent.extract_name),
        list(present[present.origin == "synthetic"].extract_name),
        SECTION_SUBJECTS[section],
    )


def mixed_origins(provenance: pd.DataFrame) -> list[str]:
    """For the banner shown when one analysis reads synthetic and supplied files together (var
    allow_mixed_origins): each such file and its origin; each section lists its own files (section_origin)."""
    p = provenance[provenance.file_exists.fillna(False).astype(bool)]
    mixed = p[p.has_mixed_origins.fillna(False).astype(bool)]
    return [f"{r.extract_name} is {r.origin} ({r.file_path})" for r in mixed.itertuples()]
