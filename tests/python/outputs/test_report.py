"""The report as a policymaker reads it, in a real Chromium, at 10k and 100k patients (and on the
real CMS and Census files, in test_hospital_real_files.py beside its build): summary sentences whose
numbers are the marts' values, a data table in the marts' own column names under every chart, no
text overflowing or overlapping, a legend entry for every marker colour, and an origin banner in
each section that rests on synthetic data. Screenshots of every chart are kept in screenshots/
(report_<build>_<chart>.png). And, without a warehouse, that the Jinja templates escape data text."""

from __future__ import annotations

import json
import re

import duckdb
import jinja2
import pytest
from outputs.browser import SCREENSHOTS, open_in_browser

from health_equity.outputs import report
from health_equity.outputs.report.hospital_income import ScoreRow
from health_equity.outputs.report.origins import Origin
from health_equity.outputs.report.page import templates
from health_equity.stats.inequality import sig3

# What the page reports about itself, measured in the DOM.
MEASURE = """() => {
  const chartInfo = [...document.querySelectorAll('section.chart')].map(s => {
    const gd = s.querySelector('.js-plotly-plot');
    const box = gd ? gd.getBoundingClientRect() : null;
    const texts = gd ? [...gd.querySelectorAll('text')].filter(t => t.textContent.trim() && t.getBBox().width > 0)
      .map(t => { const r = t.getBoundingClientRect();
                  return {text: t.textContent, cls: t.getAttribute('class') || '',
                          annotation: !!t.closest('.annotation'), legend: !!t.closest('.legend'),
                          l: r.left, r: r.right, t: r.top, b: r.bottom}; }) : [];
    // Marker colours drawn (points of visible traces) and colours named in the legend.
    const drawn = new Set(), named = new Set();
    if (gd) {
      (gd._fullData || []).forEach(tr => {
        const mode = tr.mode || (tr.type === 'scatter' ? 'markers' : '');
        const visible = tr.visible === undefined || tr.visible === true;
        if (!visible || tr.type !== 'scatter' || !mode.includes('markers')) return;
        const c = tr.marker && tr.marker.color;
        const colours = (c && typeof c === 'object') ? Array.from(c) : [c];
        // Values on a colour scale are explained by its colour bar, which must be there.
        if (colours.length && colours.every(v => typeof v === 'number')) {
          if (!(tr.marker && tr.marker.showscale)) drawn.add('a colour scale without a colour bar');
          return;
        }
        const real = Array.from(tr.x || []).some(v => v !== null && v !== undefined);
        if (real) colours.forEach(v => v && drawn.add(String(v).toLowerCase()));
        if (tr.showlegend !== false && tr.name) colours.forEach(v => v && named.add(String(v).toLowerCase()));
      });
    }
    const table = s.querySelector('details.data table');
    return {name: s.dataset.chart, box: box && {l: box.left, r: box.right, t: box.top, b: box.bottom},
            texts, drawn: [...drawn], named: [...named],
            columns: table ? [...table.querySelectorAll('thead th')].map(th => th.textContent) : []};
  });
  const headlines = [...document.querySelectorAll('li.headline')].map(li => ({
    text: li.innerText, numbers: [...li.querySelectorAll('span.num')].map(x => x.textContent),
    quoted: [...li.querySelectorAll('span.num')].map(x => x.dataset.column), mart: li.dataset.mart,
    where: JSON.parse(li.dataset.where),
    columns: JSON.parse(li.dataset.columns), formats: JSON.parse(li.dataset.formats), area: li.dataset.area}));
  const banners = [...document.querySelectorAll('.banner.synthetic')].map(b => ({
    section: b.dataset.section, previous: b.previousElementSibling && b.previousElementSibling.id}));
  const origins = [...document.querySelectorAll('ul.origin')].map(u => ({section: u.dataset.section,
    files: [...u.querySelectorAll('li')].map(li => li.innerText)}));
  return {chartInfo, headlines, banners, origins};
}"""

NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def formatted(value: float, fmt: str) -> str:
    return f"{value:.2f}" if fmt == "ratio" else sig3(value)


def published_columns(db) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            c
            for (c,) in con.sql(
                "select column_name from information_schema.columns where table_schema = 'marts'"
            ).fetchall()
        }


def mart_row(db, mart: str, where: dict) -> dict:
    clause = " and ".join(
        f"cast({k} as varchar) = '{str(v).lower() if isinstance(v, bool) else v}'" for k, v in where.items()
    )
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql(f"select * from marts.{mart} where {clause}").df()
    assert len(rows) == 1, (mart, where, len(rows))
    return rows.iloc[0].to_dict()


def overlaps(a: dict, b: dict, slack: float = 1.0) -> bool:
    return a["l"] < b["r"] - slack and b["l"] < a["r"] - slack and a["t"] < b["b"] - slack and b["t"] < a["b"] - slack


def check_report(db, name: str, tmp_path, expect_synthetic: set[str]) -> dict:
    out = tmp_path / f"report_{name}.html"
    assert report.main(["--db", str(db), "--out", str(out)]) == 0
    with open_in_browser(out.as_uri(), f"report_{name}") as (page, errors):
        got = page.evaluate(MEASURE)
        for c in got["chartInfo"]:
            page.locator(f'section[data-chart="{c["name"]}"]').screenshot(
                path=str(SCREENSHOTS / f"report_{name}_{c['name']}.png")
            )
        page.locator("section.summary").screenshot(path=str(SCREENSHOTS / f"report_{name}_summary.png"))
    assert not errors, errors

    # 1. The summary: sentences present, and every number in each is the mart value it quotes.
    assert len(got["headlines"]) >= 4
    for h in got["headlines"]:
        row = mart_row(db, h["mart"], h["where"])
        expected = [formatted(row[c], f) for c, f in zip(h["columns"], h["formats"], strict=True)]
        assert h["quoted"] == h["columns"] and h["numbers"] == expected, (h["text"], expected)
        # No other figure in the sentence: every number after the label, "95% CI" aside, is a quoted one.
        rest = h["text"].split(": ", 1)[1].replace("95% CI", "").replace("1,000 person-years", "")
        assert len(NUMBER.findall(rest)) == len(expected), h["text"]
        assert "SII" not in h["text"] and "convention" not in h["text"]
        assert ("statistically significant" in h["text"]) or ("not statistically significant" in h["text"])

    # 2. Every chart has a data table in the marts' own column names, with an interval.
    marts = published_columns(db)
    for c in got["chartInfo"]:
        cols = set(c["columns"])
        assert cols and cols <= marts, (c["name"], cols - marts)
        assert any("lower" in x for x in cols) and any("upper" in x for x in cols), (c["name"], cols)

    # 3. No text overflows its chart, and no label, annotation or legend entry overlaps another.
    for c in got["chartInfo"]:
        box = c["box"]
        for t in c["texts"]:
            assert box["l"] - 1 <= t["l"] and t["r"] <= box["r"] + 1, (c["name"], t["text"], "overflows sideways")
            assert box["t"] - 1 <= t["t"] and t["b"] <= box["b"] + 1, (c["name"], t["text"], "overflows vertically")
        labels = [t for t in c["texts"] if t["annotation"] or t["legend"] or "textpoint" in t["cls"]]
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                assert not overlaps(a, b), (c["name"], a["text"], b["text"])

    # 4. Every marker colour drawn is named in the legend.
    for c in got["chartInfo"]:
        assert set(c["drawn"]) <= set(c["named"]), (c["name"], set(c["drawn"]) - set(c["named"]))

    # 5. One synthetic-data banner per section that rests on synthetic data, right under its title.
    assert {b["section"] for b in got["banners"]} == expect_synthetic
    assert all(b["section"] == b["previous"] for b in got["banners"]), got["banners"]
    assert {o["section"] for o in got["origins"]} == {"hospitals", "asthma"}
    return got


def test_the_report_reads_at_a_glance_at_10k(clean_build, tmp_path):
    got = check_report(clean_build.db, "10k", tmp_path, {"hospitals", "asthma"})
    assert {h["area"] for h in got["headlines"]} >= {"asthma"}


def test_the_report_reads_at_a_glance_at_100k(medium_build, tmp_path):
    check_report(medium_build.db, "100k", tmp_path, {"hospitals", "asthma"})


def test_a_headline_quotes_the_mart_it_names(clean_build):
    # The summary's wording is the indices mart's own (one definition of the sentence).
    with duckdb.connect(str(clean_build.db), read_only=True) as con:
        page = report.render(con)
        interpretation = con.sql(
            "select interpretation from marts.asthma_inequality_indices where outcome = 'emergency_admissions'"
        ).fetchall()[0][0]
    assert json.dumps("asthma_inequality_indices")[1:-1] in page
    assert interpretation.replace("&", "&amp;") in page


def test_the_templates_escape_data_and_refuse_an_undefined_name():
    # Data text (an extract name, a file name, a score label) reaches the page escaped by Jinja's
    # autoescape: markup in the data shows as text and never becomes an element.
    env = templates()
    hostile = "<script>alert('x')</script>"
    origin = env.get_template("origin.html.j2").module.origin(
        Origin("asthma", [(hostile, "a&b.csv", "synthetic", "2024")], [], [hostile], "real patients")
    )
    assert "<script>" not in origin and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in origin
    assert "a&amp;b.csv" in origin
    assert origin.startswith('<div class="banner synthetic" data-section="asthma">Synthetic data: every file behind')
    kpis = env.get_template("kpis.html.j2").render(
        kpi_tiles=[("Hospitals", "1,234", hostile)],
        score_rows=[ScoreRow(hostile, True, "10", "+0.10 (+0.01 to +0.20)", "no estimate: no data")],
        lowest_tier="Low",
        highest_tier="High",
    )
    assert "<script>" not in kpis and kpis.count("&lt;script&gt;") == 2
    assert "(headline)</td><td>10</td>" in kpis
    # A name the page needs and was not given stops the render instead of leaving a gap.
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("kpis.html.j2").render(kpi_tiles=[], score_rows=[], lowest_tier="Low")


def _tick_value(label: str) -> float | None:
    """A tick label as a number: "$50k" is 50000, "1.5" is 1.5, "−0.5" (plotly's minus) is -0.5;
    None for a category label."""
    text = label.replace("\u2212", "-").replace(",", "").replace("$", "").strip()
    scale = 1.0
    if text.endswith("k"):
        text, scale = text[:-1], 1e3
    try:
        return float(text) * scale
    except ValueError:
        return None


def test_the_report_renders_every_chart_with_data_in_a_real_browser(clean_build, tmp_path):
    out = tmp_path / "report.html"
    assert report.main(["--db", str(clean_build.db), "--out", str(out)]) == 0
    html = out.read_text()
    assert "cdn" not in html.lower().split("<script", 1)[0]  # nothing fetched: plotly.js is inline
    with open_in_browser(out.as_uri(), "report_full") as (page, errors):
        charts = page.evaluate("""() => [...document.querySelectorAll('section.chart')].map(s => {
            const gd = s.querySelector('.js-plotly-plot');
            return {name: s.dataset.chart, title: s.querySelector('h3').innerText,
                    caption: s.querySelector('.caption').innerText,
                    traces: gd ? gd.data.length : 0,
                    marks: gd ? gd.querySelectorAll(
                        'path.point, .bars path, .heatmaplayer image, path.js-line').length : 0,
                    xtitle: gd && gd.layout.xaxis && gd.layout.xaxis.title ? gd.layout.xaxis.title.text || '' : '',
                    // Every axis's tick labels in screen order, and whether each axis title fits the chart.
                    ticks: gd ? [...gd.querySelectorAll('.xaxislayer-above, .yaxislayer-above')].map(layer => {
                        const isX = layer.classList.contains('xaxislayer-above');
                        return [...layer.querySelectorAll('text')]
                            .map(t => ({text: t.textContent, pos: isX ? t.getBoundingClientRect().x
                                                                       : -t.getBoundingClientRect().y}))
                            .sort((a, b) => a.pos - b.pos).map(t => t.text);
                    }) : [],
                    clipped: gd ? [...gd.querySelectorAll('.g-xtitle, .g-ytitle, .g-x2title, .g-y2title')]
                        .filter(t => t.getBBox().width > 0).filter(t => {
                            const r = t.getBoundingClientRect(), box = gd.getBoundingClientRect();
                            return r.left < box.left - 1 || r.right > box.right + 1
                                || r.top < box.top - 1 || r.bottom > box.bottom + 1;
                        }).map(t => t.textContent) : []};
        })""")
        for c in charts:
            page.locator(f'section[data-chart="{c["name"]}"]').screenshot(
                path=str(SCREENSHOTS / f"chart_{c['name']}.png")
            )
        kpis = page.locator(".kpi").count()
    assert not errors, errors
    names = {c["name"] for c in charts}
    assert names == {
        "state_map",
        "income_scatter",
        "tier_bars",
        "funnel",
        "hotspots",
        "cluster_profiles",
        "forest_plot",
        "dsr_imd",
        "dsr_ethnicity",
        "sii_rii",
        "funnel_readmissions",
        "funnel_saba",
    }
    for c in charts:
        assert c["traces"] > 0 and c["marks"] > 0, c
        assert c["title"] and len(c["caption"]) > 40, c
    # Axis titles sit inside their chart, and numeric tick labels read in order along each axis
    # (a log axis labelled "4 5 ... 9 1 2 3" or "2 ... 9 100 2" fails here).
    for c in charts:
        assert not c["clipped"], (c["name"], c["clipped"])
        for labels in c["ticks"]:
            values = [_tick_value(t) for t in labels]
            if len(labels) > 1 and all(v is not None for v in values):
                assert all(a < b for a, b in zip(values, values[1:])), (c["name"], labels)
    # Every chart but the tile map has a labelled value axis.
    assert all(c["xtitle"] for c in charts if c["name"] != "state_map"), charts
    assert kpis == 3


def test_the_deprivation_groups_are_named_by_what_they_measure():
    """The marts call the deprivation groups imd_quintile whatever they measure; the report names
    them by the measure the build's asthma_inequalities carries (macro deprivation_measure's labels)."""
    import dataclasses

    import pandas as pd

    from health_equity.outputs.report.settings import Settings

    day = pd.Timestamp("2023-01-01")
    imd = Settings(day, day, day, "policy", 7, 5, 10, 1.96, 3.09, 5000, pd.DataFrame(), "IMD 2019 quintile")
    acs = "ACS 5-year 2016-2020 median household income quintile of the ZIP (as ZCTA)"
    lookup = "deprivation quintile of the supplied area lookup (var omop_area_deprivation_path)"
    cases = {
        "IMD 2019 quintile": ("IMD quintile 1 (most deprived)", "IMD quintile 3", "IMD quintile 5 (least deprived)"),
        None: ("IMD quintile 1 (most deprived)", "IMD quintile 3", "IMD quintile 5 (least deprived)"),
        acs: ("income quintile 1 (lowest income)", "income quintile 3", "income quintile 5 (highest income)"),
        lookup: (
            "deprivation quintile 1 (most deprived)",
            "deprivation quintile 3",
            "deprivation quintile 5 (least deprived)",
        ),
    }
    # No patient has a quintile (the OMOP input without area data): the group's name says why.
    none_available = "not available: no ACS median household income file for the ZIPs"
    cases[none_available] = (
        "deprivation quintile 1 (most deprived)",
        "deprivation quintile 3",
        "deprivation quintile 5 (least deprived)",
    )
    for measure, expected in cases.items():
        settings = dataclasses.replace(imd, deprivation_measure=measure)
        assert tuple(settings.quintile_label(q) for q in (1, "3", "5")) == expected, measure
        # The banner over the asthma section names the measure only when it is not the IMD and some
        # patient has a quintile.
        assert settings.other_deprivation_measure == (measure if measure in (acs, lookup) else None), measure
