"""The atlas callbacks called as plain functions: what each returns for the UI."""

from __future__ import annotations

import dash
import pandas as pd
import pytest

from components import callbacks as cb
from components import ids
from components.app import create_app
from twinning import query as agg


@pytest.fixture(scope="module")
def data(reference_store) -> agg.AtlasData:
    return agg.AtlasData.from_store(reference_store)


def _main_trace(fig: dict) -> dict:
    return fig["data"][fig["layout"]["meta"]["main"]]


def test_first_map_carries_the_boundaries_of_every_place(data) -> None:
    fig, key, title, note = cb.map_outputs(data, agg.Filters(lang="en", level="county"), None)
    main = _main_trace(fig)
    assert len(main["geojson"]["features"]) == len(main["locations"]) >= 2800
    assert key[:2] == ["en", "county"]
    assert title and note


def test_a_filter_change_sends_a_patch_without_boundaries(data) -> None:
    base = agg.Filters(lang="zh", level="province")
    _fig, key, _t, _n = cb.map_outputs(data, base, None)
    changed = agg.Filters(lang="zh", level="province", metric="funds_cny", year_from=2006)
    patch, key2, title, _note = cb.map_outputs(data, changed, key)
    assert isinstance(patch, dash.Patch)
    assert key2 == key
    ops = patch.to_plotly_json()["operations"]
    assert ops, "the patch changes something"
    assert not any("geojson" in str(op["location"]) for op in ops)
    assert "2006" in title


def test_patched_and_rebuilt_maps_show_the_same_values(data) -> None:
    first = agg.Filters(lang="en", level="prefecture")
    later = agg.Filters(lang="en", level="prefecture", metric="projects")
    _fig, key, _t, _n = cb.map_outputs(data, first, None)
    patch, _k, _t2, _n2 = cb.map_outputs(data, later, key)
    rebuilt, _k3, _t3, _n3 = cb.map_outputs(data, later, None)
    z_ops = [
        op
        for op in patch.to_plotly_json()["operations"]
        if op["location"][-1] == "z" and op["location"][1] == rebuilt["layout"]["meta"]["main"]
    ]
    assert z_ops and z_ops[0]["params"]["value"] == list(_main_trace(rebuilt)["z"])


def test_changing_level_rebuilds_the_figure(data) -> None:
    _fig, key, _t, _n = cb.map_outputs(data, agg.Filters(level="province"), None)
    fig, key2, _t2, _n2 = cb.map_outputs(data, agg.Filters(level="county"), key)
    assert isinstance(fig, dict) and key2 != key


def test_drilled_map_is_framed_on_the_province_and_flows_do_not_catch_clicks(data) -> None:
    fig, *_ = cb.map_outputs(data, agg.Filters(level="county", recipient="650000"), None)
    geo = fig["layout"]["geo"]
    assert "fitbounds" not in geo
    lon0, lon1 = geo["lonaxis"]["range"]
    assert 70 < lon0 < 76 and 95 < lon1 < 100  # Xinjiang spans about 73-96 E
    assert all(str(c).startswith("65") for c in _main_trace(fig)["locations"])
    for idx in fig["layout"]["meta"]["flows"]:
        assert fig["data"][idx]["hoverinfo"] == "skip"


def test_controls_make_filters_and_defaults_stay_out_of_the_url() -> None:
    f = cb.filters_from_controls(
        "?lang=en&present=1", "county", "", ["three_gorges"], None, None, None,
        [1992, 2026], ["hide"], ["on"], None, (1992, 2026),
    )  # fmt: skip
    assert f.lang == "en" and f.present and f.level == "county"
    assert f.metric is None and f.programs == ("three_gorges",)
    assert f.year_from is None and f.year_to is None and not f.include_from_memory
    assert "from=" not in f.to_query_string()
    f2 = cb.filters_from_controls(
        "?lang=zh", "province", "funds_cny", [], "310000", None, "530000",
        [2006, 2010], [], [], "530000", (1992, 2026),
    )  # fmt: skip
    q = dict(agg.Filters.from_query(f2.to_query_string()).to_query())
    assert q == {
        "lang": "zh",
        "metric": "funds_cny",
        "donor": "310000",
        "recipient": "530000",
        "from": "2006",
        "to": "2010",
        "place": "530000",
        "flows": "0",
    }


@pytest.mark.parametrize(
    ("trigger", "level", "recipient", "expected"),
    [
        (ids.MAP, "province", None, ("530000", "county", "530000")),
        (ids.MAP, "county", "530000", (dash.no_update, dash.no_update, "530000")),
        (ids.BACK, "county", "530000", (None, "province", None)),
        (ids.DETAIL_CLOSE, "county", None, (dash.no_update, dash.no_update, None)),
    ],
)
def test_clicks_drill_select_go_back_and_close(trigger, level, recipient, expected) -> None:
    click = {"points": [{"location": "530000", "customdata": "530000"}]}
    filters = agg.Filters(level=level, recipient=recipient)
    assert cb.click_outputs(trigger, click, filters) == expected


def test_a_click_on_nothing_in_particular_changes_nothing() -> None:
    click = {"points": [{"lon": 100.0, "lat": 30.0}]}
    assert cb.click_outputs(ids.MAP, click, agg.Filters()) == (dash.no_update,) * 3


def test_a_click_on_a_flow_line_opens_its_recipient(data) -> None:
    # every line ends at its recipient's point, where a user clicks to open the place
    fig, *_ = cb.map_outputs(data, agg.Filters(lang="en"), None)
    flows = [fig["data"][i] for i in fig["layout"]["meta"]["flows"]]
    drawn = [t for t in flows if t["lon"]]
    assert drawn
    for trace in drawn:
        assert len(trace["customdata"]) == len(trace["lon"])
        assert all(c is None or (len(c) == 6 and c.isdigit()) for c in trace["customdata"])
    code = next(c for c in drawn[0]["customdata"] if c)
    click = {"points": [{"lon": 1.0, "lat": 2.0, "customdata": code, "curveNumber": 40}]}
    assert cb.click_outputs(ids.MAP, click, agg.Filters()) == (code, "county", code)


def test_headlines_label_sums_as_sums_of_reported_figures(data) -> None:
    cards = cb.headline_cards(data, agg.Filters(lang="en"))
    text = str([c.to_plotly_json() for c in cards])
    assert "sum of" in text and "reported figures" in text
    zh = str([c.to_plotly_json() for c in cb.headline_cards(data, agg.Filters(lang="zh"))])
    assert "项报告数据之和" in zh and "亿元" in zh


def test_tables_follow_the_language_and_carry_sources(data) -> None:
    p_rows, p_cols, _f_rows, f_cols = cb.table_outputs(data, agg.Filters(lang="en"))
    names = [c["name"] for c in p_cols + f_cols]
    assert "Source" in names and "Confidence" in names and "Quote" in names
    assert len(p_rows) == 218
    zh_cols = [c["name"] for c in cb.table_outputs(data, agg.Filters(lang="zh"))[1]]
    assert "来源" in zh_cols
    # sources are short links to the full address
    (source_col,) = [c for c in p_cols if c["name"] == "Source"]
    assert source_col["presentation"] == "markdown"
    cells = [r["Source"] for r in p_rows]
    assert all("](http" in c for c in cells if "http" in c), "every address is a link"
    assert any(
        "[xzqh\\.info/lt/read\\.php?fpage=128&tid=69347](http://xzqh.info/lt/read.php?fpage=128&tid=69347)"
        in c
        for c in cells
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "https://www.example.org/news/2016/07/27/a-very-long-article-title.htm",
            "[example\\.org/news/2016/07/27/a\\-very\\-long\\-art…]"
            "(https://www.example.org/news/2016/07/27/a-very-long-article-title.htm)",
        ),
        (
            "000_3fe4908ac1a43767.txt",
            "[000\\_3fe4908ac1a43767\\.txt]"
            "(https://yearbook.iprcc.org.cn/zggjfpzxnj/2011njzw/wddfpp/382945.shtml)",
        ),
        # text from a record is shown, never turned into a link or markup
        ("[x](javascript:alert(1))", "\\[x\\]\\(javascript:alert\\(1\\)\\)"),
        ("a <b>book</b>", "a \\<b\\>book\\</b\\>"),
        # addresses inside text are links too; a bracket ends an address
        (
            "county seen in http://a.org/x?p=1&t=2 (闵行区) from memory",
            "county seen in [a\\.org/x?p=1&t=2](http://a.org/x?p=1&t=2) \\(闵行区\\) from memory",
        ),
        (None, ""),
    ],
)
def test_source_cells_are_safe_markdown_links(source, expected) -> None:
    assert cb.source_markdown(source) == expected


def test_detail_of_a_place_lists_pairings_figures_and_source_links(data) -> None:
    children = cb.detail_children(data, agg.Filters(lang="en", place="530000"))
    text = str([getattr(c, "to_plotly_json", lambda c=c: c)() for c in children])
    assert "Yunnan" in text
    assert "yearbook.iprcc.org.cn" in text  # document 000 links to its original location
    assert "Shanghai" in text


def test_from_memory_rows_are_marked_in_the_detail(data) -> None:
    children = cb.detail_children(data, agg.Filters(lang="en", place="540300"))  # Qamdo
    assert "from memory" in str([c.to_plotly_json() for c in children])


def test_downloads_are_csv_and_excel_with_formulas_neutralised(data) -> None:
    csv = cb.download_outputs(ids.DOWNLOAD_CSV, data, agg.Filters(lang="en"))
    assert csv["filename"].endswith(".csv") and csv["base64"]
    xlsx = cb.download_outputs(ids.DOWNLOAD_XLSX, data, agg.Filters(lang="en"))
    assert xlsx["filename"].endswith(".xlsx")
    import base64
    import io

    book = pd.read_excel(io.BytesIO(base64.b64decode(xlsx["content"])), sheet_name=None)
    assert set(book) == {"Pairings", "Figures"}
    assert len(book["Pairings"]) == 218


def test_series_keeps_period_figures_as_periods(data) -> None:
    fig = cb.series_outputs(data, agg.Filters(lang="en", metric="funds_cny"))
    names = " ".join(str(t.name) for t in fig.data)
    assert "not split by year" in names


def test_app_builds_with_the_stable_ids(reference_store) -> None:
    app = create_app(reference_store)
    page = cb.layout.atlas_page(app.atlas_state.data(), agg.Filters(lang="en"))
    found = set()

    def walk(node) -> None:
        if hasattr(node, "id") and isinstance(getattr(node, "id", None), str):
            found.add(node.id)
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list | tuple) else [children]:
            if child is not None and hasattr(child, "to_plotly_json"):
                walk(child)

    walk(page)
    stable = {
        "map-graph", "series-graph", "metric-select", "level-select", "program-select",
        "donor-select", "recipient-select", "year-range", "lang-select",
    }  # fmt: skip
    assert stable <= found
