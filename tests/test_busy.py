"""Bounded expensive work: gates, the per-address limit, "busy, try again" (issue #12)."""

from __future__ import annotations

import threading
import time

import pytest

from components import security
from twinning import busy
from twinning.busy import Busy, Gate


@pytest.fixture(autouse=True)
def _fresh_gates():
    busy.reset_gates()
    yield
    busy.reset_gates()


def test_a_gate_runs_its_slots_queues_a_few_and_refuses_the_rest():
    gate = Gate(slots=1, queue=1, wait_s=5)
    first = gate.acquire()
    order = []

    def second():
        with gate.enter():
            order.append("second ran")

    waiter = threading.Thread(target=second)
    waiter.start()
    deadline = time.monotonic() + 5
    while gate._waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(Busy) as refused:  # the slot and the queue are taken: refused at once
        gate.acquire()
    assert time.monotonic() - started < 0.5
    assert refused.value.retry_after == busy.RETRY_AFTER_S and refused.value.reason == "busy"
    assert gate.refused == 1 and gate.running == 1
    first()
    first()  # releasing twice frees one slot only
    waiter.join(5)
    assert order == ["second ran"] and gate.running == 0
    with gate.enter():  # free again
        assert gate.running == 1


def test_a_waiter_gives_up_after_the_wait():
    gate = Gate(slots=1, queue=3, wait_s=0.2)
    release = gate.acquire()
    started = time.monotonic()
    with pytest.raises(Busy):
        gate.acquire()
    assert 0.15 < time.monotonic() - started < 2
    release()


def test_gates_follow_the_settings(monkeypatch):
    monkeypatch.setenv("TWINNING_EXPORT_SLOTS", "3")
    monkeypatch.setenv("TWINNING_EXPORT_QUEUE", "0")
    gate = busy.gate("export")
    assert (gate.slots, gate.queue) == (3, 0) and busy.gate("export") is gate
    assert busy.gate("download").slots == 4


def test_the_per_address_limit_is_shared_through_the_store(store, monkeypatch):
    import flask

    monkeypatch.setenv("TWINNING_EXPORT_PER_MINUTE", "2")
    app = flask.Flask(__name__)
    ran = []
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.2.2.2"}):
        for _ in range(2):
            assert security.bounded("export", store, lambda: ran.append(1) or "ok") == "ok"
        with pytest.raises(Busy) as exc:
            security.bounded("export", store, lambda: ran.append(1))
    assert exc.value.reason == "rate" and 55 <= exc.value.retry_after <= 60 and len(ran) == 2
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.2.2.3"}):
        assert security.bounded("export", store, lambda: "other address") == "other address"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        for _ in range(5):  # loopback is the machine or an undeclared proxy: not one client
            security.bounded("export", store, lambda: None)
    monkeypatch.setenv("TWINNING_EXPORT_PER_MINUTE", "0")
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.2.2.2"}):
        assert security.bounded("export", store, lambda: "off") == "off"
    text = security.busy_text(exc.value, "zh")
    assert "一分钟内" in text and str(exc.value.retry_after) in text
    assert "Too many exports" in security.busy_text(exc.value, "en")
    assert "busy" in security.busy_text(Busy(10), "en") and "正忙" in security.busy_text(
        Busy(10), "zh"
    )


def test_the_export_button_says_busy_when_the_gate_is_full(store, monkeypatch):
    import dash

    from components import export_controls

    monkeypatch.setenv("TWINNING_EXPORT_SLOTS", "1")
    monkeypatch.setenv("TWINNING_EXPORT_QUEUE", "0")
    called = []
    monkeypatch.setattr(
        export_controls, "make_download", lambda *a: called.append(a) or ({"x": 1}, "")
    )
    app = dash.Dash(__name__)
    callback = export_controls.register_callbacks(app, lambda: store, "url")
    hold = busy.gate("export").acquire()
    try:
        data, status = callback(1, "?lang=en", "map", "png")
    finally:
        hold()
    assert data is dash.no_update and called == []
    assert status.startswith("The server is busy") and "try again in 10 s" in status
    data, status = callback(1, "?lang=zh", "map", "png")
    assert data == {"x": 1} and status == "" and len(called) == 1


def _get_while_full(client, gate: str, url: str):
    """GET ``url`` while the one slot of ``gate`` is held by someone else."""
    hold = busy.gate(gate).acquire()
    try:
        return client.get(url)
    finally:
        hold()


def test_the_csv_download_answers_503_with_retry_after_when_full(store, monkeypatch):
    import dash

    from components.app import _serve_view_csv

    class State:
        def store(self):
            return store

        def data(self):  # pragma: no cover - never reached while refused
            raise AssertionError("a refused download reads no data")

    monkeypatch.setenv("TWINNING_DOWNLOAD_SLOTS", "1")
    monkeypatch.setenv("TWINNING_EXPORT_QUEUE", "0")
    app = dash.Dash(__name__)
    app.layout = dash.html.Div()
    _serve_view_csv(app, State())
    client = app.server.test_client()
    response = _get_while_full(client, "download", "/download/view.csv?lang=en")
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    body = response.get_data(as_text=True)
    assert "服务器正忙" in body and "The server is busy" in body
    monkeypatch.setenv("TWINNING_EXPORT_PER_MINUTE", "1")
    rate = [
        client.get("/download/view.csv", environ_base={"REMOTE_ADDR": "10.3.3.3"}) for _ in range(2)
    ][1]
    assert rate.status_code == 503 and int(rate.headers["Retry-After"]) >= 55
    assert "Too many exports and downloads from this address" in rate.get_data(as_text=True)
    assert busy.gate("download").running == 0  # the first one's failure freed its slot


def test_the_offline_html_file_takes_an_export_slot(store, monkeypatch):
    import dash

    monkeypatch.setenv("TWINNING_EXPORT_SLOTS", "1")
    monkeypatch.setenv("TWINNING_EXPORT_QUEUE", "0")
    app = dash.Dash(__name__)
    app.layout = dash.html.Div()
    seen = []

    @app.server.route("/download/view.html")
    def offline():  # stands for the share part's route
        seen.append(busy.gate("export").running)
        return "<html></html>"

    security.register_bounded_routes(app, lambda: store)
    client = app.server.test_client()
    assert client.get("/download/view.html").status_code == 200
    assert seen == [1] and busy.gate("export").running == 0  # held while it ran, then freed
    refused = _get_while_full(client, "export", "/download/view.html?lang=en")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "10"
    assert seen == [1]
    assert client.get("/_dash-layout").status_code == 200  # other routes never wait
