"""What the app serves from assets/: the partial plotly.js bundle and plotly's base map."""

from __future__ import annotations

import json
import re

import plotly.offline
import pytest

from components import callbacks
from twinning import query as agg
from twinning.paths import ASSETS_DIR
from twinning.view import View

BUNDLE = ASSETS_DIR / "vendor" / "plotly-atlas.min.js"
# tools/plotly-bundle/entry.js registers these (scatter comes with plotly.js's core)
BUNDLED_TRACES = {"scatter", "bar", "choropleth", "scattergeo"}


def test_bundle_is_the_plotly_js_version_plotly_python_writes_figures_for():
    head = BUNDLE.read_text(encoding="utf-8")[:400]
    found = re.search(r"plotly\.js v(\d+\.\d+\.\d+) partial bundle", head)
    assert found, f"{BUNDLE} has no version banner: rebuild it (tools/plotly-bundle)"
    assert found.group(1) == plotly.offline.get_plotlyjs_version(), (
        "plotly was upgraded: rebuild assets/vendor/plotly-atlas.min.js with the matching "
        "plotly.js (tools/plotly-bundle/package.json, then `npm ci && node build.js`)"
    )
    assert (ASSETS_DIR / "vendor" / "LICENSE.plotly.txt").is_file()


@pytest.mark.parametrize(
    "query",
    ["", "level=county&metric=funds_cny", "recipient=650000&level=county", "lang=en&flows=0"],
)
def test_every_trace_the_atlas_draws_is_in_the_bundle(reference_store, query):
    data = agg.AtlasData.from_store(reference_store)
    filters = agg.Filters.from_query(query)
    fig, *_ = callbacks.map_outputs(View(data, filters), None)
    series = callbacks.series_outputs(View(data, filters))
    series = series.to_plotly_json() if hasattr(series, "to_plotly_json") else series
    used = {t.get("type", "scatter") for t in [*fig["data"], *series["data"]]}
    assert used <= BUNDLED_TRACES, f"not in the partial bundle: {used - BUNDLED_TRACES}"


def test_base_map_is_served_as_a_script_plotly_reads_before_fetching(reference_store):
    from components.app import TOPOJSON_SCRIPT, create_app

    client = create_app(reference_store).server.test_client()
    page = client.get("/").get_data(as_text=True)
    assert f'src="/{TOPOJSON_SCRIPT}"' in page
    response = client.get("/" + TOPOJSON_SCRIPT)
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    body = response.get_data(as_text=True)
    prefix = "window.PlotlyGeoAssets=window.PlotlyGeoAssets||{topojson:{}};"
    assign = "window.PlotlyGeoAssets.topojson.world_110m="
    assert body.startswith(prefix + assign) and body.endswith(";")
    served = json.loads(body[len(prefix + assign) : -1])
    shipped = json.loads((ASSETS_DIR / "vendor" / "world_110m.json").read_text("utf-8"))
    assert served == shipped
