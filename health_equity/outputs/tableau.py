"""Tableau data sources (.tds) for the Hyper extract of the marts, one per analysis.

Each .tds points at ``health_equity.hyper`` beside it (schema ``public``, one table per mart),
lists every field with its caption and description (from the dbt docs: ``target/manifest.json``),
its role (dimension or measure), type, default aggregation and number format, and the
relationships between the analysis's marts (Tableau's object model: hospital to score, tier and
state; extract reconciliation to quarantine reasons). Opening the .tds in Tableau Desktop opens the
extract with all of that in place, so no BI tool re-derives what a column means.

The extract holds only the published marts (health_equity.outputs.exports): the restricted,
patient-level marts (asthma_patients, asthma_patient_clusters) are never in it, so no relationship
names them, and asthma_cluster_profiles, related only to asthma_patient_clusters, stands alone.

The XML follows the structure Tableau Desktop writes for a multi-table Hyper data source
(``datasource`` > ``connection class='federated'`` > named ``hyper`` connection, a ``collection``
of table relations, ``metadata-records`` mapping each field to its table, ``column`` elements for
captions and defaults, and an ``object-graph`` for relationships). No Tableau runs here: the
tests check the file against the Hyper file it points at, not Tableau's own reading of it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

HYPER_NAME = "health_equity.hyper"
SCHEMA = "public"
ANALYSES = {"asthma": "asthma_", "hospitals": "hospital_", "data_quality": "data_"}
# (left table, right table, [(left field, right field), ...]): the joins a BI user needs, between
# published marts only (a relationship to a table outside the extract would not open in Tableau).
RELATIONSHIPS = [
    ("hospital_equity", "hospital_scores", [("facility_id", "facility_id")]),
    ("hospital_scores", "hospital_income_tiers", [("score_name", "score_name"), ("income_tier", "income_tier")]),
    ("hospital_scores", "hospital_state_performance", [("score_name", "score_name"), ("state_code", "state_code")]),
    ("hospital_scores", "hospital_income_regression", [("score_name", "score_name")]),
    ("data_quality_reconciliation", "data_quality_quarantine_summary", [("extract_name", "extract_name")]),
]
# Numeric columns that are codes or orders, not quantities: dimensions.
DIMENSION_NUMBERS = re.compile(r"(_id|_key|_order|_quintile|_rating|^k$|^n_clusters$|_year$)$")
SHARE = re.compile(r"(share|proportion|_rate$)")


@dataclass(frozen=True)
class Field:
    table: str
    remote_name: str
    local_name: str
    datatype: str  # Tableau: string, integer, real, boolean, date, datetime
    role: str  # dimension or measure
    kind: str  # nominal, ordinal or quantitative
    aggregation: str
    default_format: str | None
    caption: str
    description: str


def analysis_of(table: str) -> str | None:
    for name, prefix in ANALYSES.items():
        if table.startswith(prefix):
            return name
    return None


def tableau_type(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "real"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "datetime"
    return "string"


def caption_of(name: str) -> str:
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def load_docs(manifest: Path | None) -> dict[str, tuple[str, dict[str, str]]]:
    """{model name: (description, {column: description})} from dbt's manifest, if there is one."""
    if manifest is None or not manifest.exists():
        return {}
    nodes = json.loads(manifest.read_text())["nodes"]
    docs = {}
    for node in nodes.values():
        if node.get("resource_type") == "model":
            cols = {c: (v.get("description") or "").strip() for c, v in node.get("columns", {}).items()}
            docs[node["name"]] = ((node.get("description") or "").strip(), cols)
    return docs


def fields_for(tables: dict[str, pa.Schema], docs: dict) -> list[Field]:
    seen: set[str] = set()
    fields = []
    for table, schema in tables.items():
        col_docs = docs.get(table, ("", {}))[1]
        for f in schema:
            datatype = tableau_type(f.type)
            numeric = datatype in ("integer", "real")
            is_measure = numeric and not DIMENSION_NUMBERS.search(f.name)
            local = f.name if f.name not in seen else f"{f.name} ({table})"
            seen.add(f.name)
            if datatype == "integer":
                fmt = "n#,##0"
            elif datatype == "real":
                fmt = "p0.0%" if SHARE.search(f.name) and "per_1000" not in f.name else "n#,##0.00"
            else:
                fmt = None
            fields.append(
                Field(
                    table=table,
                    remote_name=f.name,
                    local_name=local,
                    datatype=datatype,
                    role="measure" if is_measure else "dimension",
                    kind="quantitative" if is_measure else ("ordinal" if numeric else "nominal"),
                    # Counts add up across rows; rates, means, ratios and CIs do not: average them.
                    aggregation="Sum" if datatype == "integer" else ("Avg" if is_measure else "Count"),
                    default_format=fmt if is_measure else None,
                    caption=caption_of(f.name),
                    description=re.sub(r"\s+", " ", col_docs.get(f.name, "")).strip(),
                )
            )
    return fields


def datasource_xml(analysis: str, tables: dict[str, pa.Schema], docs: dict) -> ET.ElementTree:
    fields = fields_for(tables, docs)
    by_table = {(f.table, f.remote_name): f for f in fields}
    ds = ET.Element("datasource", {"formatted-name": f"health_equity {analysis}", "inline": "true", "version": "18.1"})
    conn = ET.SubElement(ds, "connection", {"class": "federated"})
    named = ET.SubElement(ET.SubElement(conn, "named-connections"), "named-connection")
    named.set("caption", HYPER_NAME)
    named.set("name", "hyper.health_equity")
    ET.SubElement(
        named,
        "connection",
        {
            "authentication": "auth-none",
            "class": "hyper",
            "dbname": HYPER_NAME,
            "default-settings": "yes",
            "schema": SCHEMA,
            "sslmode": "",
            "username": "tableau_internal_user",
        },
    )
    collection = ET.SubElement(conn, "relation", {"type": "collection"})
    for table in tables:
        ET.SubElement(
            collection,
            "relation",
            {"connection": "hyper.health_equity", "name": table, "table": f"[{SCHEMA}].[{table}]", "type": "table"},
        )
    records = ET.SubElement(conn, "metadata-records")
    for f in fields:
        rec = ET.SubElement(records, "metadata-record", {"class": "column"})
        for tag, text in (
            ("remote-name", f.remote_name),
            ("local-name", f"[{f.local_name}]"),
            ("parent-name", f"[{f.table}]"),
            ("remote-alias", f.remote_name),
            ("local-type", f.datatype),
            ("aggregation", f.aggregation),
            ("contains-null", "true"),
            ("object-id", f"[{f.table}]"),
        ):
            ET.SubElement(rec, tag).text = text
    ET.SubElement(ds, "aliases", {"enabled": "yes"})
    for f in fields:
        attrs = {
            "caption": f.caption if f.local_name == f.remote_name else f"{f.caption} ({f.table})",
            "datatype": f.datatype,
            "name": f"[{f.local_name}]",
            "role": f.role,
            "type": f.kind,
            "aggregation": f.aggregation,
        }
        if f.default_format:
            attrs["default-format"] = f.default_format
        col = ET.SubElement(ds, "column", attrs)
        if f.description:
            run = ET.SubElement(ET.SubElement(ET.SubElement(col, "desc"), "formatted-text"), "run")
            run.text = f.description
    graph = ET.SubElement(ds, "object-graph")
    objects = ET.SubElement(graph, "objects")
    for table in tables:
        obj = ET.SubElement(objects, "object", {"caption": table, "id": table})
        table_doc = docs.get(table, ("", {}))[0]
        if table_doc:
            ET.SubElement(obj, "description").text = re.sub(r"\s+", " ", table_doc)
        props = ET.SubElement(obj, "properties", {"context": ""})
        ET.SubElement(
            props,
            "relation",
            {"connection": "hyper.health_equity", "name": table, "table": f"[{SCHEMA}].[{table}]", "type": "table"},
        )
    rels = ET.SubElement(graph, "relationships")
    for left, right, pairs in RELATIONSHIPS:
        if left not in tables or right not in tables:
            continue
        if not all((left, a) in by_table and (right, b) in by_table for a, b in pairs):
            continue
        rel = ET.SubElement(rels, "relationship")
        parent = rel if len(pairs) == 1 else ET.SubElement(rel, "expression", {"op": "AND"})
        for a, b in pairs:
            eq = ET.SubElement(parent, "expression", {"op": "="})
            ET.SubElement(eq, "expression", {"op": f"[{by_table[(left, a)].local_name}]"})
            ET.SubElement(eq, "expression", {"op": f"[{by_table[(right, b)].local_name}]"})
        ET.SubElement(rel, "first-end-point", {"object-id": left})
        ET.SubElement(rel, "second-end-point", {"object-id": right})
    ET.indent(ds)
    return ET.ElementTree(ds)


def write_datasources(frames: dict[str, pa.Table], out: Path, manifest: Path | None) -> list[Path]:
    """One ``health_equity_<analysis>.tds`` per analysis, written atomically beside the Hyper file.

    An analysis with no table in ``frames`` gets none, and an earlier run's .tds of it is removed:
    it would point at tables the new extract no longer has."""
    docs = load_docs(manifest)
    written = []
    for analysis in ANALYSES:
        tables = {t: frames[t].schema for t in sorted(frames) if analysis_of(t) == analysis}
        if not tables:
            (out / f"health_equity_{analysis}.tds").unlink(missing_ok=True)
            continue
        tree = datasource_xml(analysis, tables, docs)
        final = out / f"health_equity_{analysis}.tds"
        tmp = out / f".{final.name}.tmp"
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
        tmp.replace(final)
        written.append(final)
    return written
