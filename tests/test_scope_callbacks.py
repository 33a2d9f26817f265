"""Scopes on screen (issue #10), the callbacks called as plain functions."""

from __future__ import annotations

import json

import pytest

from components import callbacks as cb
from twinning import query as agg
from twinning.query.scopes import shared_figures
from twinning.view import View


@pytest.fixture(scope="module")
def data(reference_store) -> agg.AtlasData:
    return agg.AtlasData.from_store(reference_store)


def _text(children) -> str:
    return json.dumps(
        [getattr(c, "to_plotly_json", lambda c=c: c)() for c in children],
        ensure_ascii=False,
        default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o),
    )


def _shanghai_group_figure(data) -> int:
    shared = shared_figures(data, agg.Filters(), "653100")
    rows = shared[shared["scope_group"] == "shanghai_counterpart_areas"]
    return int(rows.loc[rows["metric"] == "people_lifted", "id"].iloc[0])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_kashgars_detail_lists_the_shanghai_group_figures_with_quotes(data, lang) -> None:
    text = _text(cb.detail_children(View(data, agg.Filters(lang=lang, place="653100"))))
    group = (
        "上海对口帮扶地区（8 个地区）" if lang == "zh" else "Shanghai's counterpart areas (8 areas)"
    )
    assert group in text
    assert "超过909万建档立卡贫困户脱贫出列" in text  # the quote, verbatim
    assert "004_9370aca5d40441e1.txt" in text or "gaodawei" in text  # its source
    fid = _shanghai_group_figure(data)
    assert f"scope={fid}" in text  # the link that outlines the members


def test_shanghais_detail_shows_its_donor_side_figures(data) -> None:
    text = _text(cb.detail_children(View(data, agg.Filters(lang="en", place="310000"))))
    assert "Reported by this donor about itself (donor-side)" in text
    assert "donor-side" in text and "33名个人和25个集体" in text


def test_scope_in_the_url_outlines_the_members_and_a_patch_carries_it(data) -> None:
    fid = _shanghai_group_figure(data)
    plain = agg.Filters(lang="en", level="province", metric="people_lifted")
    scoped = agg.Filters.from_query(f"?lang=en&metric=people_lifted&scope={fid}")
    assert scoped.scope == fid and f"scope={fid}" in scoped.to_query_string()
    fig, key, _title, _note = cb.map_outputs(View(data, scoped), None)
    meta = fig["layout"]["meta"]
    trace = fig["data"][meta["scope"]]
    outlined = {loc for loc, z in zip(trace["locations"], trace["z"], strict=True) if z}
    assert outlined == {"650000", "540000", "630000", "530000", "520000", "420000", "500000"}
    # the group's value is in no member's colour: the main layer is as without scope=
    plain_fig = cb.map_outputs(View(data, plain), None)[0]
    assert fig["data"][meta["main"]]["z"] == plain_fig["data"][meta["main"]]["z"]
    # the same structure: a filter change to scope= is a Patch with the outline's z
    patch = cb.map_outputs(View(data, scoped), key)[0]
    ops = patch.to_plotly_json()["operations"]
    z_ops = [op for op in ops if op["location"] == ["data", meta["scope"], "z"]]
    assert len(z_ops) == 1 and sum(1 for z in z_ops[0]["params"]["value"] if z) == 7
    assert trace["visible"] is True
    visible_ops = [op for op in ops if op["location"] == ["data", meta["scope"], "visible"]]
    assert [op["params"]["value"] for op in visible_ops] == [True]
    # without scope=, nothing is outlined: the layer is hidden (plotly makes no path for
    # its 34 or 2,875 places), in a whole figure and in a patch back from a scope
    none = plain_fig["data"][meta["scope"]]
    assert not any(none["z"]) and none["visible"] is False
    back = cb.map_outputs(View(data, plain), key)[0].to_plotly_json()["operations"]
    assert {"location": ["data", meta["scope"], "visible"], "operation": "Assign",
            "params": {"value": False}} in back  # fmt: skip


def test_a_division_in_a_scope_is_a_point_labelled_as_a_division(data) -> None:
    shared = shared_figures(data, agg.Filters(), "653200")
    fid = int(shared.loc[shared["recipient"] == "和田地区, 第十四师", "id"].iloc[0])
    filters = agg.Filters(lang="en", level="prefecture", scope=fid)
    fig = cb.map_outputs(View(data, filters), None)[0]
    points = fig["data"][fig["layout"]["meta"]["scope_points"]]
    # [key, label, short label]: a click opens the division, the (full) label is drawn
    assert points["customdata"] == [["xpcc:14", "14th Division (XPCC)", "14th Division"]]
    assert points["texttemplate"] == "%{customdata[1]}"
    assert (
        "not Kunyu" in points["hovertext"][0]
        and "Production and Construction" in (points["hovertext"][0])
    )


def test_the_flow_to_the_14th_division_is_drawn_to_a_labelled_point(data) -> None:
    filters = agg.Filters(lang="en", level="county")
    flows = [f for f in agg.flows(data, filters) if f.recipient == "xpcc:14"]
    assert [(f.donor_key, f.n_pairings) for f in flows] == [("110000", 1)]
    fig = cb.map_outputs(View(data, filters), None)[0]
    meta = fig["layout"]["meta"]
    hovers = [t for i, t in enumerate(fig["data"]) if i in meta["flows"] and t.get("text")]
    texts = [h for t in hovers for h in t["text"]]
    assert any("14th Division (XPCC)" in h and "Beijing" in h for h in texts)
    points = fig["data"][meta["xpcc_points"]]
    labels = [label for _key, label, _short in points["customdata"]]
    assert "14th Division (XPCC)" in labels and len(labels) == 7
    hover = points["hovertext"][labels.index("14th Division (XPCC)")]
    assert "not Kunyu" in hover  # a division, not its seat city's territory
    # the division lies in Xinjiang: a view of Xinjiang holds its pairings, a view of
    # Beijing's pairings elsewhere does not draw it
    drilled = agg.Filters(lang="en", level="county", recipient="650000")
    assert "xpcc:14" in [f.recipient for f in agg.flows(data, drilled)]
    tibet = agg.Filters(lang="en", level="county", recipient="540000")
    tibet_fig = cb.map_outputs(View(data, tibet), None)[0]
    assert not tibet_fig["data"][tibet_fig["layout"]["meta"]["xpcc_points"]]["lon"]


def test_a_divisions_detail_says_what_it_is_and_lists_its_pairings_and_figures(data) -> None:
    text = _text(cb.detail_children(View(data, agg.Filters(lang="en", place="xpcc:14"))))
    assert "14th Division (XPCC)" in text and "not Kunyu" in text
    assert "Beijing" in text  # its pairing
    assert "192.4" in text  # the 和田地区 + 第十四师 funds figure's quote
    zh = _text(cb.detail_children(View(data, agg.Filters(lang="zh", place="xpcc:14"))))
    assert "第十四师（新疆生产建设兵团）" in zh
    assert "xpcc:99" not in _text(cb.detail_children(View(data, agg.Filters(place="xpcc:99"))))
