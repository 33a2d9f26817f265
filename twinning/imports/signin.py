"""Sign-in for the import page: a server-side session (``twinning.auth``) and its words.

The page keeps the session token in an HttpOnly cookie and passes it here; nothing on the
server trusts what the page says about who is signed in. Every function takes that token
and an ``auth`` (``twinning.auth.Auth``; by default the store at TWINNING_DATABASE_URL), so
whichever worker answers looks the session up in the store. Every function that changes
data asks ``may_import`` first. No dash.
"""

from __future__ import annotations

from typing import Any

from twinning import i18n
from twinning.imports.problems import log_internal


def auth_of(auth: Any = None) -> Any:
    """``auth``, or the default ``twinning.auth.Auth`` when it is None."""
    from twinning.auth import default_auth

    return auth if auth is not None else default_auth()


def session_user(token: object, auth: Any = None) -> Any:
    """The signed-in ``twinning.auth.User`` of a session token, or None."""
    return auth_of(auth).session_user(token)


def token_user(token: object, auth: Any = None) -> str | None:
    """The signed-in user's name, or None for a missing, unknown, ended or expired session."""
    user = session_user(token, auth)
    return user.name if user else None


def role_label(role: str, lang: str) -> str:
    """A role's name in the reader's language."""
    if role == "admin":
        return i18n.t("import.role_admin", lang)
    if role == "importer":
        return i18n.t("import.role_importer", lang)
    return i18n.t("import.role_viewer", lang)


def may_import(token: object, lang: str, auth: Any = None) -> tuple[Any, str]:
    """(user, "") when the session may change data, else (None, the message why not)."""
    user = session_user(token, auth)
    if user is None:
        return None, i18n.t("import.signin_needed", lang)
    if not user.can("importer"):
        role = role_label(user.role, lang)
        return None, i18n.t("import.role_needed", lang, user=user.name, role=role)
    return user, ""


def sign_in(
    user: str | None,
    password: str | None,
    lang: str,
    auth: Any = None,
    address: str | None = None,
) -> tuple[str, str]:
    """(session token, message). Limits first (per user and per address), then the password."""
    result = auth_of(auth).sign_in(user, password, address)
    if result.status == "ok":
        return result.token, i18n.t("import.signed_in", lang, user=result.user.name)
    if result.status == "off":
        return "", i18n.t("import.signin_disabled", lang)
    if result.status == "slow":
        return "", i18n.t("import.signin_slow", lang, seconds=result.wait_s)
    if result.status == "locked":
        minutes = max(1, -(-result.wait_s // 60))
        return "", i18n.t("import.signin_locked", lang, minutes=minutes)
    if result.status == "busy":
        return "", i18n.t("import.signin_busy", lang)
    return "", i18n.t("import.signin_failed", lang)


def sign_out(token: object, lang: str, auth: Any = None) -> str:
    """End the session in the store: the token is refused from now on, in every worker."""
    from sqlalchemy.exc import OperationalError

    try:
        auth_of(auth).end_session(token)
    except OperationalError:  # SQLite's write lock held past its 30 s by an import
        log_internal("sign-out failed")
        return i18n.t("import.signout_busy", lang)
    return i18n.t("import.signed_out", lang)
