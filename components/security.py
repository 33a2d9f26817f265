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

from typing import Any

from twinning import settings

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
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="Strict", secure=secure_cookie()
    )


def trust_proxies(server: Any) -> None:
    """Take the client's address and scheme from TWINNING_PROXY_HOPS trusted proxies."""
    hops = settings.get_int("TWINNING_PROXY_HOPS")
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
