"""The first view in a real browser: it opens, the map draws, it stays offline and clean."""

from __future__ import annotations

import pytest
from browser_harness import (
    PLOT_ORDER_JS,
    drawn_locations,
    geo_subplots,
    place_point,
    wait_map_drawn,
)

pytestmark = pytest.mark.browser

# A sanity bound only (a broken page never draws); the 2 s target is the benchmark's job.
FIRST_VIEW_SANITY_MS = 15_000


def test_first_view_draws_the_map_offline_with_no_console_error(atlas_page):
    atlas_page.open("/")
    drawn_ms = wait_map_drawn(atlas_page.page)
    atlas_page.settle()
    print(f"\nfirst view: map drawn {drawn_ms:.0f} ms after navigation start")
    assert drawn_ms < FIRST_VIEW_SANITY_MS
    assert drawn_locations(atlas_page.page), "the main map drew no place"
    # Everything came from the test server: scripts, styles, fonts, map files.
    assert atlas_page.log.requests, "no request recorded at all: the log is broken"
    atlas_page.log.assert_clean()


def test_county_level_draws_every_county(atlas_page, county_count):
    atlas_page.open("/", level="county")
    wait_map_drawn(atlas_page.page)
    atlas_page.settle()
    drawn = drawn_locations(atlas_page.page)
    assert len(drawn) == county_count, (
        f"{len(drawn)} county shapes drawn, data/geo/county.parquet has {county_count}"
    )
    assert len(set(drawn)) == county_count, "some county drawn twice, another missing"
    # and no path for a place a layer does not draw (a layer per place: no data, a value,
    # a scope's outline): each path of the county places' layers draws its county, or the
    # counties of a layer that all look alike (no data: one path of ~2,900 counties)
    paths = atlas_page.page.evaluate(
        """() => [...document.querySelectorAll(
               '#map-graph .geolayer > g[class="geo geo"] .choroplethlayer > g.trace')]
             .filter(g => ['places', 'places-no-data', 'scope'].includes(g.__data__[0].trace.name))
             .flatMap(g => [...g.querySelectorAll('path.choroplethlocation')])
             .map(p => p.__data__.locs ? p.__data__.locs.length : p.__data__.loc)"""
    )
    merged = [n for n in paths if isinstance(n, int)]
    single = [loc for loc in paths if not isinstance(loc, int)]
    assert len(single) + sum(merged) == len(drawn), f"{len(paths)} paths for {len(drawn)}"
    assert len(paths) < county_count / 2, f"{len(paths)} paths: the no-data layer is not one"
    atlas_page.log.assert_clean()


def test_south_china_sea_inset_is_drawn(atlas_page):
    atlas_page.open("/")
    wait_map_drawn(atlas_page.page)
    atlas_page.settle()
    subplots = geo_subplots(atlas_page.page)
    insets = {name: n for name, n in subplots.items() if name != "geo"}
    assert insets, f"only the main map is drawn, no inset: {subplots}"
    # The inset shows the islands and the dashed line: it has shapes, not just a frame.
    assert max(insets.values()) > 0, f"the inset is empty: {subplots}"
    figure = atlas_page.figure("map-graph")
    inset_names = {f"geo{n[3:]}" for n in insets}
    inset_traces = [t for t in figure["data"] if t.get("geo") in inset_names]
    assert inset_traces, "no trace is drawn in the inset"
    lon_ranges = [
        figure["layout"][name].get("lonaxis", {}).get("range")
        or figure["layout"][name].get("center", {}).get("lon")
        for name in inset_names
        if name in figure["layout"]
    ]
    assert lon_ranges, "the inset has no view of its own"


def test_page_uses_the_atlas_plotly_bundle_and_no_base_map(atlas_page):
    """The partial plotly.js bundle from assets/vendor/ is the one drawing, the full
    4.8 MB bundle is never fetched, and the map (its places from the atlas's GeoJSON, no
    layer of plotly's base map shown) is drawn without plotly's world base map: neither
    handed to it nor fetched (plotly.js asked for it for every GeoJSON choropleth; the
    bundle's patch, tools/plotly-bundle/build.js)."""
    atlas_page.open("/")
    wait_map_drawn(atlas_page.page)
    atlas_page.settle()
    requests = atlas_page.log.requests
    assert any("assets/vendor/plotly-atlas.min.js" in u for u in requests)
    assert not [u for u in requests if "plotly.min.js" in u or "world_110m.json" in u]
    info = atlas_page.page.evaluate(
        "() => [window.Plotly.version, Object.keys(window.PlotlyGeoAssets.topojson)]"
    )
    import plotly.offline

    assert info == [plotly.offline.get_plotlyjs_version(), []]
    # the time series (bars for periods, lines for years) drew with the partial bundle
    assert atlas_page.page.locator("#series-graph .main-svg").count() > 0
    atlas_page.log.assert_clean()


def test_plotly_draws_the_first_map_from_the_boundaries_the_page_handed_it(atlas_page):
    """The page's head hands each preloaded boundaries file to plotly.js's store under
    every name the figure gives it (#7): plotly.js asks the network for none (an XHR of
    its own per layer, the second county layer after the first, ~0.1 s of a cold load),
    each file travels once, every county is drawn and the dcc chunks the first view
    draws came from their preloads, each asked for once."""
    import threading

    for thread in threading.enumerate():  # a page preloads only files already made
        if thread.name == "atlas-warm":
            thread.join(120)
    atlas_page.open("/", level="county")
    wait_map_drawn(atlas_page.page)
    atlas_page.settle()
    page = atlas_page.page
    entries = page.evaluate(
        """() => performance.getEntriesByType('resource').map(
            r => [new URL(r.name).pathname + new URL(r.name).hash, r.initiatorType])"""
    )
    geo = [(path, kind) for path, kind in entries if "/geo/" in path]
    assert geo and all(kind == "link" for _path, kind in geo), geo
    assert len({path for path, _kind in geo}) == len(geo)
    handed = page.evaluate(
        """() => { const gd = document.querySelector('#map-graph .js-plotly-plot');
            return gd.data.filter(t => typeof t.geojson === 'string').map(
                t => [t.geojson, typeof window.PlotlyGeoAssets[t.geojson]]); }"""
    )
    assert len(handed) >= 3 and all(kind == "object" for _name, kind in handed), handed
    assert any("#" in name for name, _kind in handed)  # the second county layer's name
    chunks = {path.rsplit("/", 1)[-1]: kind for path, kind in entries if "/dcc/async-" in path}
    # the map's chunk from its preload; the dropdowns' and sliders', asked for by dcc as
    # React first renders one, come after: the map no longer waits for their render
    assert chunks == {"async-graph.js": "link", "async-dropdown.js": "script",
                      "async-slider.js": "script"}, chunks  # fmt: skip
    assert len([p for p, _k in entries if "/dcc/async-" in p]) == 3, entries
    atlas_page.log.assert_clean()


def test_nothing_moves_when_the_dropdowns_and_sliders_come_after_the_map(atlas_page):
    """dcc draws its dropdowns and sliders from chunks a first view asks for after its map
    (#7); until one comes, its place is kept (assets/style.css, a11y.css): held back until
    the map has drawn, the filters, the place search and the map are where they are once
    every control has come, to the pixel."""
    page, held = atlas_page.page, []
    page.route("**/dcc/async-{dropdown,slider}.js", lambda route: held.append(route))
    page.set_viewport_size({"width": 1366, "height": 900})
    # not until "load": a chunk asked for before it (the page drawn before its last
    # preload came) holds the load event as long as it is held back here
    atlas_page.open("/", wait_until="domcontentloaded", level="county", lang="en")
    wait_map_drawn(page)
    boxes = """() => Object.fromEntries([...document.querySelectorAll(
        '#filters-panel .field, .place-search, .export-controls, #map-graph, #playback')].map(
        (e, i) => [(e.id || e.className) + ' ' + i, (r => [Math.round(r.top), Math.round(
            r.height)])(e.getBoundingClientRect())]))"""
    pending = page.evaluate(boxes)
    assert page.locator(".dash-dropdown").count() == 0 and len(held) == 2, held
    for route in held:
        route.continue_()
    page.wait_for_function("() => document.querySelectorAll('.dash-dropdown').length >= 8")
    page.wait_for_selector("#year-range")
    atlas_page.settle()
    assert len(pending) >= 10 and page.evaluate(boxes) == pending
    atlas_page.log.assert_clean()


def test_the_coverage_card_fills_when_it_is_opened(atlas_page):
    """The card is worked out only while open (#7): closed it is empty; a click on its
    title opens it and its tables come; closed again, it stays as it was."""
    atlas_page.open("/", lang="en")
    wait_map_drawn(atlas_page.page)
    atlas_page.settle()
    page = atlas_page.page
    assert page.locator("#coverage table").count() == 0
    page.locator("#coverage-details > summary").click()
    page.wait_for_selector("#coverage table", timeout=15_000)
    assert page.locator("#coverage table").count() == 2
    assert "Tibet" in page.locator("#coverage").inner_text()
    atlas_page.log.assert_clean()


def test_the_bundles_colour_caches_draw_every_colour_as_plotly_does(atlas_page):
    # assets/vendor/plotly-atlas.min.js parses each colour string once (a patch of
    # plotly.js, tools/plotly-bundle/build.js, #7): the same strings drawn again, in other
    # spellings and with alpha, come out as they did the first time and as CSS reads them
    atlas_page.open("/")
    wait_map_drawn(atlas_page.page)
    colours = ["red", "#FF0000", "rgba(0, 128, 255, 0.5)", "hsl(120, 100%, 25%)", "#abc"]
    drawn = atlas_page.page.evaluate(
        """async colours => {
            const out = [];
            for (let round = 0; round < 2; round++) {
                const div = document.createElement('div');
                div.style.width = '400px'; div.style.height = '300px';
                document.body.appendChild(div);
                await Plotly.newPlot(div, [{type: 'bar', x: colours.map((_, i) => i),
                    y: colours.map(() => 1), marker: {color: colours,
                    line: {color: colours, width: 2}}}]);
                out.push([...div.querySelectorAll('.point path')].map(p =>
                    [p.style.fill, p.style.fillOpacity, p.style.stroke, p.style.strokeOpacity]));
                Plotly.purge(div); div.remove();
            }
            return out;
        }""",
        colours,
    )
    expected = [
        ["rgb(255, 0, 0)", "1", "rgb(255, 0, 0)", "1"],
        ["rgb(255, 0, 0)", "1", "rgb(255, 0, 0)", "1"],
        ["rgb(0, 128, 255)", "0.5", "rgb(0, 128, 255)", "0.5"],
        ["rgb(0, 128, 0)", "1", "rgb(0, 128, 0)", "1"],
        ["rgb(170, 187, 204)", "1", "rgb(170, 187, 204)", "1"],
    ]
    assert drawn == [expected, expected]
    atlas_page.log.assert_clean()


def test_hovering_places_names_each_one_with_the_hover_polygons_made_on_demand(atlas_page):
    # The bundle makes a place's hover polygons when a hover first needs them, not while
    # the map draws (tools/plotly-bundle/build.js, #7): hovering a county, another, then
    # the first again names each (plotly's own hit test on those polygons)
    page = atlas_page.page
    atlas_page.open("/", level="county", lang="en", flows=0)  # no flow line over a place
    wait_map_drawn(page)
    atlas_page.settle()
    names = []
    for code in ("652824", "542526", "652824"):  # Ruoqiang (Xinjiang), Gêrzê (Tibet)
        point = place_point(page, code)  # both in the no-data layer's one path
        assert point is not None, code
        page.mouse.move(0, 0)
        page.wait_for_timeout(100)
        page.mouse.move(*point)
        page.locator("#map-graph .hoverlayer .hovertext").first.wait_for(timeout=5_000)
        names.append(
            page.evaluate(
                "() => document.querySelector('#map-graph .hoverlayer .hovertext text').textContent"
            )
        )
    assert names[0] == names[2] and names[0] != names[1], names
    assert "Ruoqiang" in names[0] and "Gêrzê" in names[1], names
    atlas_page.log.assert_clean()


def test_choropleth_places_are_styled_as_plotly_styles_them(atlas_page):
    # The bundle styles a choropleth's places with one style attribute each (a patch,
    # tools/plotly-bundle/build.js, #7): fill from the colour scale, the line's colour,
    # opacity and width, the trace's opacity; per-place line colours and widths; a restyle
    # of z recolours; a selection's dimming still comes on top
    atlas_page.open("/")
    wait_map_drawn(atlas_page.page)
    got = atlas_page.page.evaluate(
        """async () => {
            const feature = (id, x) => ({type: 'Feature', id: id, properties: {},
              geometry: {type: 'Polygon', coordinates: [[[x, 0], [x + 1, 0], [x + 1, 1],
                                                          [x, 1], [x, 0]]]}});
            const geojson = {type: 'FeatureCollection',
                             features: ['a', 'b', 'c'].map((id, i) => feature(id, i * 2))};
            const div = document.createElement('div');
            div.style.width = '500px'; div.style.height = '300px';
            document.body.appendChild(div);
            const read = () => [...div.querySelectorAll('path.choroplethlocation')].map(p =>
              [p.getAttribute('fill'), p.style.stroke, p.style.strokeOpacity,
               p.style.strokeWidth, p.style.strokeDasharray, p.style.opacity]);
            await Plotly.newPlot(div, [{type: 'choropleth', geojson: geojson,
              locations: ['a', 'b', 'c'], z: [0, 5, 10], zmin: 0, zmax: 10,
              colorscale: [[0, 'rgb(0,0,0)'], [1, 'rgb(200,100,50)']], showscale: false,
              marker: {opacity: 0.8, line: {color: 'rgba(10, 20, 30, 0.5)', width: 2}}}],
              {geo: {fitbounds: 'locations', visible: false}});
            const first = read();
            await Plotly.restyle(div, {z: [[10, 0, 5]],
                                       'marker.line.color': [['red', 'blue', 'red']],
                                       'marker.line.width': [[1, 3, 1]]});
            const second = read();
            await Plotly.restyle(div, {selectedpoints: [[0]]});
            const selected = [...div.querySelectorAll('path.choroplethlocation')]
              .map(p => p.style.opacity);
            Plotly.purge(div); div.remove();
            return [first, second, selected];
        }"""
    )
    first, second, selected = got
    line = ["rgb(10, 20, 30)", "0.5", "2px", "", "0.8"]
    assert first == [
        ["rgb(0, 0, 0)", *line],
        ["rgb(100, 50, 25)", *line],
        ["rgb(200, 100, 50)", *line],
    ]
    assert second == [
        ["rgb(200, 100, 50)", "rgb(255, 0, 0)", "1", "1px", "", "0.8"],
        ["rgb(0, 0, 0)", "rgb(0, 0, 255)", "1", "3px", "", "0.8"],
        ["rgb(100, 50, 25)", "rgb(255, 0, 0)", "1", "1px", "", "0.8"],
    ]
    assert selected[0] != selected[1] and selected[1] == selected[2]  # the others dimmed
    atlas_page.log.assert_clean()


def test_choropleth_makes_a_path_only_for_each_place_it_draws(atlas_page):
    # The bundle gives a choropleth an SVG path only for a location with a number and a
    # boundary (a patch, tools/plotly-bundle/build.js, #7). A restyle that changes which
    # places have a number moves the paths with them: each path draws its own place's
    # boundary, in its own colour, and a location without one has no path.
    atlas_page.open("/")
    wait_map_drawn(atlas_page.page)
    got = atlas_page.page.evaluate(
        """async () => {
            const feature = (id, x) => ({type: 'Feature', id: id, properties: {},
              geometry: {type: 'Polygon', coordinates: [[[x, 0], [x, 1], [x + 1, 1],
                                                          [x + 1, 0], [x, 0]]]}});
            const geojson = {type: 'FeatureCollection',
                             features: ['a', 'b', 'c', 'd'].map((id, i) => feature(id, i * 2))};
            const div = document.createElement('div');
            div.style.width = '500px'; div.style.height = '300px';
            document.body.appendChild(div);
            const read = () => [...div.querySelectorAll('path.choroplethlocation')].map(p =>
              [p.__data__.loc, p.getAttribute('fill'), Math.round(p.getBBox().x)]);
            await Plotly.newPlot(div, [{type: 'choropleth', geojson: geojson,
              locations: ['a', 'b', 'c', 'd', 'nowhere'], z: [0, null, 10, 'x', 5],
              zmin: 0, zmax: 10, showscale: false,
              colorscale: [[0, 'rgb(0,0,0)'], [1, 'rgb(200,100,50)']]}],
              {geo: {visible: false, lonaxis: {range: [-1, 8]}, lataxis: {range: [-1, 2]}},
               margin: {l: 0, r: 0, t: 0, b: 0}});
            const first = read();
            await Plotly.restyle(div, {z: [[null, 10, 0, 5, 5]]});
            const second = read();
            await Plotly.restyle(div, {z: [[null, null, null, null, null]]});
            const none = read();
            Plotly.purge(div); div.remove();
            return [first, second, none];
        }"""
    )
    first, second, none = got
    # four places a step apart: a path's box starts further right for each later place
    assert [row[:2] for row in first] == [["a", "rgb(0, 0, 0)"], ["c", "rgb(200, 100, 50)"]]
    assert [row[:2] for row in second] == [
        ["b", "rgb(200, 100, 50)"],
        ["c", "rgb(0, 0, 0)"],
        ["d", "rgb(100, 50, 25)"],
    ]
    x = {loc: left for loc, _, left in first + second}
    assert x["a"] < x["b"] < x["c"] < x["d"], x
    assert first[1][2] == second[1][2]  # c drawn where it was, by another path
    assert none == []
    atlas_page.log.assert_clean()


def test_places_that_look_alike_are_drawn_as_one_path_and_hovered_one_by_one(atlas_page):
    # The bundle draws a choropleth's places as one SVG path when they all look alike: one
    # fill (the same z, or a scale of one colour), the trace's own line, no selection (a
    # patch, tools/plotly-bundle/build.js, #7). The path's datum lists its places; hover
    # still names each place; a restyle that sets them apart gives each its path again.
    page = atlas_page.page
    atlas_page.open("/")
    wait_map_drawn(page)
    page.evaluate(
        """async () => {
            const feature = (id, x) => ({type: 'Feature', id: id, properties: {},
              geometry: {type: 'Polygon', coordinates: [[[x, 0], [x, 1], [x + 1, 1],
                                                          [x + 1, 0], [x, 0]]]}});
            const div = document.createElement('div');
            div.id = 'alike';
            div.style.cssText = 'position:fixed;left:0;top:0;width:600px;height:300px;z-index:99';
            document.body.appendChild(div);
            await Plotly.newPlot(div, [{type: 'choropleth', locations: ['a', 'b', 'c'],
              geojson: {type: 'FeatureCollection',
                        features: ['a', 'b', 'c'].map((id, i) => feature(id, i * 2))},
              z: [1, 5, 9], zmin: 0, zmax: 10, showscale: false,
              colorscale: [[0, 'rgb(10,20,30)'], [1, 'rgb(10,20,30)']],
              hovertemplate: 'place %{location}<extra></extra>'}],
              {geo: {visible: false, lonaxis: {range: [-1, 6]}, lataxis: {range: [-1, 2]}},
               margin: {l: 0, r: 0, t: 0, b: 0}});
        }"""
    )
    read = """() => [...document.querySelectorAll('#alike path.choroplethlocation')].map(p =>
                [p.__data__.locs || p.__data__.loc, p.getAttribute('fill')])"""
    assert page.evaluate(read) == [[["a", "b", "c"], "rgb(10, 20, 30)"]]
    # hover over b's square (the middle of the three, in the middle of the figure)
    page.mouse.move(300, 150)
    label = page.locator("#alike .hoverlayer .hovertext")
    label.first.wait_for(timeout=5_000)
    assert label.first.text_content() == "place b"
    restyles = [
        # a scale of two colours: three fills, three paths
        ({"colorscale": [[[0, "rgb(0,0,0)"], [1, "rgb(200,100,50)"]]]}, 3),
        # one z on that scale: one fill again
        ({"z": [[4, 4, 4]]}, 1),
        # a line colour per place
        ({"marker.line.color": [["red", "blue", "red"]]}, 3),
    ]
    for update, paths in restyles:
        page.evaluate("u => Plotly.restyle('alike', u)", update)
        got = page.evaluate(read)
        assert len(got) == paths, (update, got)
    page.evaluate("() => Plotly.restyle('alike', {'marker.line.color': null, z: [[4, 4, 4]]})")
    assert len(page.evaluate(read)) == 1
    page.evaluate("() => Plotly.restyle('alike', {selectedpoints: [[1]]})")  # a selection
    assert [row[0] for row in page.evaluate(read)] == ["a", "b", "c"]
    page.evaluate("() => { Plotly.purge('alike'); document.getElementById('alike').remove(); }")
    atlas_page.log.assert_clean()


# Four charts of one figure with wide tick labels and no margins (the last x label sticks
# out of the figure, or of its axis's domain), each with a ``ticklabeloverflow`` setting;
# every label's display and how often the page measured a box while plotly drew it.
TICK_LABELS_JS = """async () => {
    const counted = {n: 0};
    const real = Element.prototype.getBoundingClientRect;
    Element.prototype.getBoundingClientRect = function () {
        counted.n += 1; return real.apply(this, arguments); };
    const div = document.createElement('div');
    div.style.width = '600px'; div.style.height = '500px';
    document.body.appendChild(div);
    const x = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const label = v => 'a long label ' + v;
    const settings = ['hide past div', 'hide past domain', 'allow', 'hide past div'];
    const layout = {margin: {l: 0, r: 0, t: 0, b: 0}, showlegend: false};
    const data = settings.map((s, i) => {
        const n = i ? String(i + 1) : '';
        layout['xaxis' + n] = {domain: [0.1 * i, 1 - 0.1 * i], anchor: 'y' + n,
            ticklabeloverflow: s, tickvals: x, ticktext: x.map(label)};
        layout['yaxis' + n] = {domain: [i / 4 + 0.02, (i + 1) / 4 - 0.02], anchor: 'x' + n,
            ticklabeloverflow: s, ticks: 'outside'};
        return {type: 'scatter', x: x, y: x.map(v => v * (i + 1)),
                xaxis: 'x' + n, yaxis: 'y' + n};
    });
    counted.n = 0;
    await Plotly.newPlot(div, data, layout);
    const measured = counted.n;
    Element.prototype.getBoundingClientRect = real;
    const shown = [...div.querySelectorAll(
        'g.xaxislayer-above > g > text, g.yaxislayer-above > g > text')].map(t =>
        [t.parentNode.getAttribute('class') + ' ' + t.textContent,
         t.style.display !== 'none']);
    Plotly.purge(div); div.remove();
    return [shown, measured];
}"""


def test_tick_labels_past_the_edge_are_hidden_as_plotly_hides_them(atlas_page):
    """The bundle checks an axis's tick labels against the figure's edge once they are all
    placed (tools/plotly-bundle/build.js, #7), where plotly.js checked every label again
    after placing each one: the same labels are hidden as by plotly.js's own build of the
    same version (the ``plotly`` package's), with fewer boxes measured (each of plotly.js's
    checks between two labels placed made the browser lay the page out again)."""
    import plotly.offline

    atlas_page.open("/")
    wait_map_drawn(atlas_page.page)
    ours, ours_measured = atlas_page.page.evaluate(TICK_LABELS_JS)

    page = atlas_page.page.context.new_page()
    page.set_content("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body></body></html>")
    page.add_script_tag(content=plotly.offline.get_plotlyjs())
    theirs, theirs_measured = page.evaluate(TICK_LABELS_JS)
    page.close()

    assert ours == theirs
    # the label past the figure's edge, and the one past its axis's domain, are hidden; none
    # of "allow", nor of an axis whose labels all fit
    assert [name for name, shown in ours if not shown] == [
        "xtick a long label 8",
        "x2tick a long label 8",
    ]
    assert len(ours) == 9 * 4 + 5 + 4 + 3 + 4
    assert ours_measured < theirs_measured, (ours_measured, theirs_measured)
    atlas_page.log.assert_clean()


def test_the_other_charts_draw_once_the_map_has_drawn(atlas_page):
    """React mounts the time series with the map, a blank chart until its callback answers;
    plotly.js draws it only once the map has drawn (assets/first_view.js, #7), then its
    figures, in that order."""
    page = atlas_page.page
    page.add_init_script(PLOT_ORDER_JS)
    atlas_page.open("/", level="county", lang="en")
    wait_map_drawn(page)
    page.wait_for_function(
        "() => window.__plots.filter(p => p[0] === 'done' && p[1] === 'series-graph').length >= 2"
    )
    atlas_page.settle()
    plots = page.evaluate("window.__plots")
    map_done = min(t for kind, graph, t in plots if kind == "done" and graph == "map-graph")
    series = [t for kind, graph, t in plots if kind == "start" and graph == "series-graph"]
    assert len(series) >= 2 and min(series) >= map_done, plots
    assert page.evaluate("document.querySelector('#series-graph .js-plotly-plot').data.length")
    assert page.locator(
        "#series-graph .scatterlayer .trace, #series-graph .barlayer .trace"
    ).count()
    atlas_page.log.assert_clean()


# every element with the map's id the page ever had (a MutationObserver from the start)
MAP_NODES_JS = """(() => { window.__mapNodes = [];
  new MutationObserver(records => { for (const r of records) for (const n of r.addedNodes) {
    if (n.nodeType !== 1) continue;
    for (const e of [n, ...n.querySelectorAll('#map-graph')])
      if (e.id === 'map-graph' && !window.__mapNodes.includes(e)) window.__mapNodes.push(e);
  } }).observe(document, {childList: true, subtree: true}); })();"""


def test_the_map_is_drawn_in_reacts_first_render(atlas_page):
    """dcc's Graph is a lazy component: React's first render put a placeholder in the map's
    place and rendered the map only once its chunk had come, after Dash's first callbacks'
    bookkeeping. assets/first_view.js starts its lazy part before that first render (#7):
    the map's element is made once, no placeholder before it, and the map draws."""
    page = atlas_page.page
    page.add_init_script(MAP_NODES_JS)
    atlas_page.open("/", level="county", lang="en")
    wait_map_drawn(page)
    atlas_page.settle()
    nodes = page.evaluate("window.__mapNodes.map(e => [e.className, e.isConnected])")
    assert nodes == [["dash-graph map-graph", True]], nodes
    assert drawn_locations(page)
    atlas_page.log.assert_clean()
