"""Security headers and the session cookie on the Flask server (components/security.py, #12).

The sign-in callback is posted as the browser posts it (Flask's test client), so the
cookie's flags are the ones a browser receives.
"""

from __future__ import annotations

import json

import pytest
from test_import_support import page_env

from components import import_page, security


@pytest.fixture
def app(tmp_path, monkeypatch):
    import dash

    store = page_env(tmp_path, monkeypatch)
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    app.layout = import_page.layout("en")
    import_page.register_callbacks(app, lambda: store)

    @app.server.route("/embed")
    def embed():  # stands for the embed page (another part builds it)
        return '<p>chart</p><script>draw(1)</script><script src="/x.js"></script>'

    @app.server.route("/other-page")
    def other_page():
        return "<script>draw(1)</script>"

    security.register_headers(app)
    app.test_store = store
    return app


def _sign_in_body(app, user: str, password: str, button: str = "imp-signin-btn") -> str:
    output = next(k for k in app.callback_map if "imp-who.data" in k)
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in output.strip(".").split("...")
    ]
    clicks = {"imp-signin-btn": 0, "imp-signout-btn": 0, button: 1}
    return json.dumps(
        {
            "output": output,
            "outputs": outputs,
            "inputs": [{"id": k, "property": "n_clicks", "value": v} for k, v in clicks.items()],
            "state": [
                {"id": "imp-user", "property": "value", "value": user},
                {"id": "imp-password", "property": "value", "value": password},
                {"id": "imp-lang", "property": "data", "value": "en"},
            ],
            "changedPropIds": [f"{button}.n_clicks"],
        }
    )


def _post(client, body: str, **kw):
    return client.post("/_dash-update-component", data=body, content_type="application/json", **kw)


def test_headers_on_every_response(app):
    client = app.server.test_client()
    for path in ("/", "/_dash-layout", "/_dash-dependencies"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    page = client.get("/")
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
    assert "'unsafe-eval'" not in csp
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    # Dash's one inline script is allowed by its hash, not by 'unsafe-inline'
    assert "new DashRenderer" in page.get_data(as_text=True)
    for digest in app.csp_hashes():
        assert script_src.count(digest) == 1  # each once, though two callbacks share one
    # data is never a document: its answers may do nothing, and do not carry the page's
    # policy with its hashes (headers are not compressed: ~1 KB an answer, #7)
    for path in ("/_dash-layout", "/_dash-dependencies"):
        response = client.get(path)
        assert response.mimetype == "application/json"
        assert (
            response.headers["Content-Security-Policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )
        assert response.headers["X-Frame-Options"] == "DENY"


def test_only_embed_pages_may_be_framed_by_others(app, monkeypatch):
    client = app.server.test_client()
    monkeypatch.setenv("TWINNING_EMBED_FRAME_ANCESTORS", "'self' https://news.example.org")
    embed = client.get("/embed?chart=map")
    assert "X-Frame-Options" not in embed.headers
    assert (
        "frame-ancestors 'self' https://news.example.org"
        in embed.headers["Content-Security-Policy"]
    )
    page = client.get("/")
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self';" in page.headers["Content-Security-Policy"] + ";"
    monkeypatch.delenv("TWINNING_EMBED_FRAME_ANCESTORS")
    assert "frame-ancestors 'self'" in client.get("/embed").headers["Content-Security-Policy"]
    assert not security.is_embed("/embedded") and security.is_embed("/embed/map")


def test_a_nonce_per_response_for_pages_the_server_writes(app):
    import flask

    seen = []

    @app.server.route("/nonce-page")
    def nonce_page():
        seen.append(security.csp_nonce())
        return f'<script nonce="{security.csp_nonce()}">1</script>'

    client = app.server.test_client()
    first = client.get("/nonce-page")
    second = client.get("/nonce-page")
    assert seen[0] != seen[1] and len(seen[0]) >= 20
    assert f"'nonce-{seen[0]}'" in first.headers["Content-Security-Policy"]
    assert f"'nonce-{seen[1]}'" in second.headers["Content-Security-Policy"]
    assert not flask.has_request_context() and security.csp_nonce() == ""


def test_sign_in_sets_an_httponly_strict_cookie_and_sign_out_ends_it(app, monkeypatch):
    client = app.server.test_client()
    wrong = _post(client, _sign_in_body(app, "admin", "nope"))
    assert "Set-Cookie" not in wrong.headers
    assert "Wrong user name or password." in wrong.get_data(as_text=True)
    response = _post(client, _sign_in_body(app, "admin", "s3cret"))
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{security.COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http, TWINNING_COOKIE_SECURE=auto
    assert "Max-Age=28800" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    body = response.get_json()["response"]
    assert body["imp-who"]["data"] == {"user": "admin", "role": "admin"}
    assert token not in json.dumps(body)  # the page never sees the token
    from twinning.auth import Auth

    auth = Auth.for_store(app.test_store)  # sessions live in the app's store
    assert import_page.token_user(token, auth) == "admin"
    out = _post(client, _sign_in_body(app, "", "", "imp-signout-btn"))
    gone = out.headers["Set-Cookie"]
    assert gone.startswith(f"{security.COOKIE}=;") and "Max-Age=0" in gone
    assert import_page.token_user(token, auth) is None


def test_secure_cookie_over_https_or_when_told(app, monkeypatch):
    client = app.server.test_client()
    over_https = _post(client, _sign_in_body(app, "admin", "s3cret"), base_url="https://localhost")
    assert "Secure" in over_https.headers["Set-Cookie"]
    monkeypatch.setenv("TWINNING_COOKIE_SECURE", "1")
    told = _post(client, _sign_in_body(app, "admin", "s3cret"))
    assert "Secure" in told.headers["Set-Cookie"]


def test_sign_in_limits_count_the_client_address(app, monkeypatch):
    client = app.server.test_client()
    for _ in range(3):
        _post(client, _sign_in_body(app, "admin", "nope"), environ_base={"REMOTE_ADDR": "10.1.1.1"})
    slow = _post(
        client, _sign_in_body(app, "admin", "s3cret"), environ_base={"REMOTE_ADDR": "10.1.1.1"}
    )
    assert "Too many failed sign-ins: wait" in slow.get_data(as_text=True)
    assert "Set-Cookie" not in slow.headers


def test_proxy_hops_give_the_forwarded_address(monkeypatch):
    import flask

    server = flask.Flask(__name__)

    @server.route("/addr")
    def addr():
        return security.client_address() or ""

    monkeypatch.setenv("TWINNING_PROXY_HOPS", "1")
    security.trust_proxies(server)
    got = server.test_client().get(
        "/addr",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert got.get_data(as_text=True) == "203.0.113.9"


def test_embed_pages_run_their_own_inline_scripts_by_hash(app):
    client = app.server.test_client()
    own = security.inline_script_hashes("<script>draw(1)</script>")
    assert own == ["'sha256-" + _sha256_b64("draw(1)") + "'"]
    assert own[0] in client.get("/embed?chart=map").headers["Content-Security-Policy"]
    # any other page's inline script is not allowed by its hash
    assert own[0] not in client.get("/other-page").headers["Content-Security-Policy"]
    assert security.inline_script_hashes('<script src="a.js"></script><SCRIPT>x</SCRIPT >') == [
        "'sha256-" + _sha256_b64("x") + "'"
    ]


def _sha256_b64(text: str) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
