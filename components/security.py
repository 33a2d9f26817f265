"""The web side of sign-in and the server's security headers (issue #12).

- The session token (``twinning.auth``) travels only in the ``twinning_session`` cookie:
  HttpOnly (no page script can read it), SameSite=Strict (no other site's page can send
  it), Secure over HTTPS (``TWINNING_COOKIE_SECURE``), no longer than the session lasts.
  Callbacks read it with :func:`cookie_token`; the server looks it up in the store on
  every request that changes data, so a signed-out or expired session is refused in every
  worker.
- The client's address, for the sign-in and export limits, is the connection's, or the
  one the trusted proxies say (``TWINNING_PROXY_HOPS``, werkzeug's ProxyFix).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from twinning import busy, settings

T = TypeVar("T")

COOKIE = "twinning_session"


def _request() -> Any:
    import flask

    return flask.request if flask.has_request_context() else None


def cookie_token() -> str | None:
    """The session token the browser sent with this request, if any."""
    request = _request()
    if request is None:
        return None
    return request.cookies.get(COOKIE) or None


def client_address() -> str | None:
    request = _request()
    return None if request is None else request.remote_addr


def secure_cookie() -> bool:
    value = settings.get("TWINNING_COOKIE_SECURE").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    request = _request()
    return bool(request is not None and request.is_secure)


def set_session_cookie(response: Any, token: str) -> None:
    from twinning.auth import _hours

    response.set_cookie(
        COOKIE,
        token,
        max_age=int(_hours() * 3600),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=secure_cookie(),
    )


def clear_session_cookie(response: Any) -> None:
    """Tell the browser to drop the cookie (an expired, empty one: what delete_cookie sends;
    Dash's callback response offers set_cookie only)."""
    response.set_cookie(
        COOKIE,
        "",
        max_age=0,
        expires=0,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=secure_cookie(),
    )


def trust_proxies(server: Any) -> None:
    """Take the client's address and scheme from TWINNING_PROXY_HOPS trusted proxies."""
    hops = settings.get_int("TWINNING_PROXY_HOPS")
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


# --- security headers -------------------------------------------------------------------------
# Every response: nosniff, a referrer policy, and a Content-Security-Policy. Dash's page runs
# one inline script (``var renderer = new DashRenderer();``) plus any clientside callbacks:
# they are allowed by their SHA-256 (``app.csp_hashes()``), so no other inline script runs.
# Its config is a ``<script type="application/json">``, which a browser never runs. The
# ``/embed`` pages, written by the server from escaped text, run their inline scripts by
# their hashes, computed from that response (``inline_script_hashes``); other pages the
# server writes may mark theirs with a nonce made per response: ``<script nonce=...>``.
#
# Styles need 'unsafe-inline': React writes ``style="..."`` attributes into the page for every
# component's ``style`` prop (Dash, dash-ag-grid, dcc's dropdowns and slider), and plotly.js
# adds ``<style>`` rules at run time; neither can carry a hash or nonce. A style cannot run
# code, so scripts stay strict.
#
# Framing: only pages under EMBED_PREFIXES may be framed, by the ancestors in
# TWINNING_EMBED_FRAME_ANCESTORS; everything else only by the atlas itself.

EMBED_PREFIXES: tuple[str, ...] = ("/embed",)


def inline_script(body: str) -> str:
    """``body`` as an inline script of the page this response writes, with its nonce."""
    nonce = csp_nonce()
    attr = f' nonce="{nonce}"' if nonce else ""
    return f"<script{attr}>{body}</script>"


def csp_nonce() -> str:
    """This response's nonce for an inline ``<script nonce=...>`` of a page the server writes."""
    import secrets

    import flask

    if not flask.has_request_context():
        return ""
    nonce = getattr(flask.g, "twinning_csp_nonce", None)
    if nonce is None:
        nonce = flask.g.twinning_csp_nonce = secrets.token_urlsafe(18)
    return nonce


def is_embed(path: str, prefix: str = "/") -> bool:
    rel = "/" + path[len(prefix) :].lstrip("/") if path.startswith(prefix) else path
    return any(
        rel == p or rel.startswith(p + "/") or rel.startswith(p + "?") for p in EMBED_PREFIXES
    )


def frame_ancestors(path: str, prefix: str = "/") -> str:
    if is_embed(path, prefix):
        return settings.get("TWINNING_EMBED_FRAME_ANCESTORS").strip() or "'self'"
    return "'self'"


_INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)


def inline_script_hashes(html_text: str) -> list[str]:
    """The CSP hashes of a page's inline scripts (``<script>`` without ``src``).

    For the pages the server itself writes from escaped text (``/embed``: twinning/embed.py
    boots plotly with an inline script): the page's own scripts run, and a script put into
    the page later (the DOM) or from elsewhere does not. A script that reached the server's
    template would be hashed too, so such pages escape every piece of text they hold.
    """
    found = []
    for match in _INLINE_SCRIPT.finditer(html_text):
        digest = hashlib.sha256(match.group(1).encode("utf-8")).digest()
        found.append(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    return list(dict.fromkeys(found))


def content_security_policy(script_hashes: list[str], path: str, prefix: str = "/") -> str:
    nonce = csp_nonce()
    scripts = ["'self'", *script_hashes] + ([f"'nonce-{nonce}'"] if nonce else [])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src " + " ".join(scripts),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors " + frame_ancestors(path, prefix),
        ]
    )


# What a response that is data, not a document, may do: nothing. A browser applies a
# Content-Security-Policy only to a document (or a worker) the response becomes, and JSON
# (callback answers, the layout, the API) never becomes one here; the page's own policy,
# with a hash of every clientside callback, is ~1 KB that every callback answer carried
# uncompressed (headers are not compressed): ~5 KB of a filter change's five answers (#7).
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"


def register_headers(app: Any) -> None:
    """Add the security headers to every response of the Dash app's server."""
    import flask

    server = app.server
    prefix = app.config.requests_pathname_prefix or "/"
    hashes: list[str] = []
    done = [False]

    def script_hashes() -> list[str]:
        # after every callback is registered (clientside callbacks add inline scripts)
        if not done[0]:
            hashes[:] = dict.fromkeys(app.csp_hashes())  # two callbacks may share a script
            done[0] = True
        return hashes

    @server.after_request
    def _security_headers(response: flask.Response) -> flask.Response:
        path = flask.request.path
        headers = response.headers
        # werkzeug's setdefault looks a missing header up by raising and catching an
        # HTTP exception: five of them on every callback's answer (#7)
        have = {name.lower() for name, _value in headers.items()}

        def setdefault(name: str, value: str) -> None:
            if name.lower() not in have:
                headers.add(name, value)
                have.add(name.lower())

        setdefault("X-Content-Type-Options", "nosniff")
        setdefault("Referrer-Policy", "same-origin")
        setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if response.mimetype == "application/json":
            setdefault("Content-Security-Policy", DATA_POLICY)
            setdefault("X-Frame-Options", "DENY")
            return response
        allowed = script_hashes()
        if (
            is_embed(path, prefix)
            and response.mimetype == "text/html"
            and not response.is_streamed
            and not response.direct_passthrough
        ):
            allowed = allowed + inline_script_hashes(response.get_data(as_text=True))
        if "content-security-policy" not in have:
            setdefault("Content-Security-Policy", content_security_policy(allowed, path, prefix))
        if not is_embed(path, prefix):
            setdefault("X-Frame-Options", "SAMEORIGIN")
        return response


# --- bounded expensive work (exports, downloads) ----------------------------------------------


def bounded(kind: str, store: Any, work: Callable[[], T]) -> T:
    """Run ``work`` in this process's gate for ``kind`` after the per-address limit.

    Raises :class:`twinning.busy.Busy` (say :func:`busy_text`, send ``Retry-After``) when
    the client asked for more than TWINNING_EXPORT_PER_MINUTE in a minute (counted in the
    store, so across workers) or when the gate's slots and queue are full.
    """
    check_rate(store)
    with busy.gate(kind).enter():
        return work()


def check_rate(store: Any) -> None:
    """Count one expensive request of this client; raise Busy ("rate") over the limit."""
    per_minute = settings.get_int("TWINNING_EXPORT_PER_MINUTE")
    address = client_address()
    if per_minute <= 0 or not address or store is None or _loopback(address):
        return
    from twinning.auth import Auth

    wait = Auth.for_store(store).hit("export_addr", address, per_minute)
    if wait:
        raise busy.Busy(wait, "rate")


def _loopback(address: str) -> bool:
    """The machine itself, or a proxy not declared in TWINNING_PROXY_HOPS: not one client,
    so not limited as one (the gate's slots and queue still bound it)."""
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def busy_text(exc: busy.Busy, lang: str) -> str:
    """The refusal in the reader's language (both words are in the catalog)."""
    from twinning import i18n

    return i18n.t(
        "busy.rate" if exc.reason == "rate" else "busy.busy", lang, seconds=exc.retry_after
    )


def busy_response(exc: busy.Busy) -> Any:
    """HTTP 503 with Retry-After and the message in both languages (for plain routes)."""
    import flask

    body = f"{busy_text(exc, 'zh')}\n{busy_text(exc, 'en')}\n"
    response = flask.Response(body, status=503, mimetype="text/plain")
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def mark_busy(exc: busy.Busy) -> None:
    """In a Dash callback: a Retry-After header on its response (the page shows the text)."""
    from dash import ctx

    with contextlib.suppress(Exception):  # outside a callback (tests) there is no response
        ctx.response.set_header("Retry-After", str(exc.retry_after))


# Routes of other parts whose work is expensive and open to anyone, and the gate each takes
# (with the per-address limit): the offline HTML file holds plotly.js, the boundaries and a
# frame of values per year. (/embed is not here: its charts come from the view caches, and
# one page of a news site may show several.)
BOUNDED_ROUTES: dict[str, str] = {"/download/view.html": "export"}


def register_bounded_routes(app: Any, get_store: Callable[[], Any]) -> None:
    """Run the BOUNDED_ROUTES in their gates: 503 with Retry-After when full or too often."""
    import flask

    server = app.server
    prefix = app.config.requests_pathname_prefix or "/"

    @server.before_request
    def _take_a_slot() -> Any:
        path = flask.request.path
        rel = "/" + path[len(prefix) :].lstrip("/") if path.startswith(prefix) else path
        kind = BOUNDED_ROUTES.get(rel)
        if kind is None:
            return None
        try:
            check_rate(get_store())
            flask.g.twinning_release = busy.gate(kind).acquire()
        except busy.Busy as exc:
            return busy_response(exc)
        return None

    @server.teardown_request
    def _free_the_slot(_exc: BaseException | None) -> None:
        release = flask.g.pop("twinning_release", None)
        if release is not None:
            release()


# --- the callback endpoint's requests ---------------------------------------------------------
# Dash's dispatcher trusts the JSON it is posted: a body without ``output``, ``inputs`` that
# is not a list, a ``changedPropIds`` of lists, raise inside it (HTTP 500). Before Dash sees
# a request, its body must name a server callback and match that callback's declaration:
# its outputs, inputs and state, in order, with their ids and properties (pattern ids fit
# their wildcards), and ``changedPropIds`` may name only those inputs. A location's
# ``pathname``, ``search``, ``hash`` and ``href`` are text. Anything else: HTTP 400 and a
# one-line reason, no traceback. Values are each callback's to check (``Filters.from_dict``).

UPDATE_COMPONENT = "_dash-update-component"
LOCATION_PROPS = frozenset({"pathname", "search", "hash", "href"})
_SCALAR_ID = (str, int, float, bool)


def _prop(name: Any) -> str | None:
    """A property's name without Dash's ``@hash`` of duplicate outputs."""
    return name.split("@", 1)[0] if isinstance(name, str) else None


def _pattern(declared_id: str) -> dict | None:
    """The pattern of a wildcard id as Dash stores it (``{"index":["ALL"],...}``)."""
    return json.loads(declared_id) if declared_id.startswith("{") else None


def _id_fits(declared_id: str, sent: Any) -> bool:
    pattern = _pattern(declared_id)
    if pattern is None:
        return isinstance(sent, str) and sent == declared_id
    if not isinstance(sent, dict) or set(sent) != set(pattern):
        return False
    for key, want in pattern.items():
        value = sent[key]
        if isinstance(want, list):  # a wildcard: ["ALL"], ["MATCH"], ["ALLSMALLER"]
            if not isinstance(value, _SCALAR_ID):
                return False
        elif value != want:
            return False
    return True


def _item_fits(declared: dict, sent: Any, with_values: bool) -> bool:
    """One request entry (``{"id", "property", "value"}``, or a list of them for an ALL or
    ALLSMALLER wildcard) against the callback's declared dependency."""
    declared_id = declared["id"]
    many = '["ALL"]' in declared_id or '["ALLSMALLER"]' in declared_id
    if many != isinstance(sent, list):
        return False
    prop = _prop(declared["property"])
    for part in sent if many else [sent]:
        if not isinstance(part, dict) or _prop(part.get("property")) != prop:
            return False
        if not _id_fits(declared_id, part.get("id")):
            return False
        value = part.get("value")
        if with_values and prop in LOCATION_PROPS and not isinstance(value, str | None):
            return False
    return True


def _declared_outputs(spec: Any) -> list[dict]:
    outputs = spec if isinstance(spec, (list, tuple)) else [spec]
    return [o.to_dict() for o in outputs]


def _changed_fits(prop_id: Any, inputs: list) -> bool:
    if not isinstance(prop_id, str):
        return False
    component, _, prop = prop_id.rpartition(".")
    if component.startswith("{"):
        try:
            wanted: Any = json.loads(component)
        except ValueError:
            return False
    else:
        wanted = component
    return any(
        part.get("id") == wanted and _prop(part.get("property")) == prop
        for item in inputs
        for part in (item if isinstance(item, list) else [item])
    )


def callback_body_problem(body: Any, callback_map: dict) -> str | None:
    """Why Dash should not run this ``/_dash-update-component`` body, or None if it fits."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str):
        return "'output' must name a callback"
    cb = callback_map.get(output)
    if cb is None or "callback" not in cb:  # clientside callbacks run in the browser
        return "no such callback"
    if not cb.get("no_output"):
        declared = _declared_outputs(cb["output"])
        outputs = body.get("outputs")
        if isinstance(cb["output"], (list, tuple)):
            if not isinstance(outputs, list) or len(outputs) != len(declared):
                return "'outputs' do not match the callback"
            pairs = list(zip(declared, outputs, strict=True))
        else:
            pairs = [(declared[0], outputs)]
        if not all(_item_fits(d, s, with_values=False) for d, s in pairs):
            return "'outputs' do not match the callback"
    for key in ("inputs", "state"):
        sent = body.get(key, [])
        wanted = cb.get(key, [])
        if not isinstance(sent, list) or len(sent) != len(wanted):
            return f"'{key}' do not match the callback"
        for declared_item, item in zip(wanted, sent, strict=True):
            if not _item_fits(declared_item, item, with_values=True):
                if _prop(declared_item["property"]) in LOCATION_PROPS and _item_fits(
                    declared_item, item, with_values=False
                ):
                    return f"'{declared_item['property']}' must be text"
                return f"'{key}' do not match the callback"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(
        _changed_fits(p, body.get("inputs", [])) for p in changed
    ):
        return "'changedPropIds' must name the callback's inputs"
    return None


def register_callback_guard(app: Any) -> None:
    """Answer HTTP 400 to a callback request whose body does not fit its callback."""
    import flask
    from werkzeug.exceptions import BadRequest

    server = app.server
    path = app.config.routes_pathname_prefix + UPDATE_COMPONENT

    def refuse(reason: str) -> flask.Response:
        return flask.Response(
            flask.json.dumps({"error": reason}), status=400, mimetype="application/json"
        )

    @server.before_request
    def _check_callback_body() -> Any:
        request = flask.request
        if request.method != "POST" or request.path != path or not request.is_json:
            return None  # Dash answers 405 and 415 itself
        try:
            body = request.get_json()
        except BadRequest:
            return refuse("the body is not valid JSON")
        problem = callback_body_problem(body, app.callback_map)
        return None if problem is None else refuse(problem)
