"""Users, sessions and sign-in limits, kept in the store's database (issue #12).

Every gunicorn worker sees the same rows, so a sign-out, an expiry or a lock-out holds in
all of them, and across restarts. Three small tables of their own (``auth_users``,
``auth_sessions``, ``auth_events``) are created on first use with ``CREATE TABLE IF NOT
EXISTS``: they are not part of the store's schema versions (``twinning/store/schema.py``)
and hold nothing the atlas shows.

- **Users** have a role: ``viewer`` (sees who imported what), ``importer`` (imports, undoes
  its own batches) or ``admin`` (undoes any batch). Passwords are stored as scrypt hashes
  (``werkzeug.security``); ``twinning users add NAME --role importer`` sets them. The
  single-password setting ``TWINNING_ADMIN_PASSWORD`` still works as a fallback: the user
  ``TWINNING_ADMIN_USER`` signs in with it as an admin, unless a stored user has that name.
- **Sessions**: a random token (32 bytes) handed to the browser in an HttpOnly cookie;
  the database keeps only its SHA-256, the user, and when it expires
  (``TWINNING_SESSION_HOURS``). Signing out, removing a user or changing a password ends
  sessions at once.
- **Sign-in limits**, per user name and per address: after ``TWINNING_SIGNIN_FREE_TRIES``
  failures in ``TWINNING_SIGNIN_LOCK_MINUTES``, each further try must wait 1, 2, 4 … 60 s
  after the last failure; after ``TWINNING_SIGNIN_MAX_FAILURES`` (three times as many for an
  address, which many people may share) sign-in is refused, even with the right password,
  until the last failure is that many minutes old. A refused try is not checked at all.

The core never imports Flask or Dash: ``components/security.py`` puts the token in a cookie.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import hashlib
import hmac
import logging
import math
import secrets
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from twinning import settings

log = logging.getLogger("twinning.auth")

ROLES: tuple[str, ...] = ("viewer", "importer", "admin")
_RANK = {role: i for i, role in enumerate(ROLES)}
MAX_NAME = 64
ADDRESS_FACTOR = 3  # an address may be shared by many people (an office behind one NAT)
SLOW_CAP_S = 60
STORE_WAIT_MS = 30000  # the store's own busy timeout (twinning/store/db.py)
SIGNIN_WAIT_MS = 5000  # a sign-in waits this long for SQLite's write lock, then says busy
HIT_WAIT_MS = 500  # counting an export waits this long, then lets it through uncounted
_LOCKED_WORDS = ("database is locked", "database table is locked", "lock timeout")

metadata = MetaData()

users = Table(
    "auth_users",
    metadata,
    Column("name", String(MAX_NAME), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created", Float, nullable=False),  # epoch seconds
    Column("changed", Float, nullable=False),
)

sessions = Table(
    "auth_sessions",
    metadata,
    Column("token_sha", String(64), primary_key=True),  # the token itself is never stored
    Column("user_name", String(MAX_NAME), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False),
    Column("address", Text),
)

events = Table(
    "auth_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),  # signin_user | signin_addr | export_addr
    Column("key", Text, nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_auth_events_scope_key_at", "scope", "key", "at"),
)


class AuthError(ValueError):
    """A user name, role or password a command cannot take (the message says which)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def can(self, role: str) -> bool:
        """True when this user's role is ``role`` or above (viewer < importer < admin)."""
        return _RANK.get(self.role, -1) >= _RANK[role]


@dataclass(frozen=True)
class SignIn:
    """The outcome of one sign-in try.

    ``status``: ``ok`` (``user`` and ``token`` set), ``failed`` (wrong name or password),
    ``slow`` (too soon after the last failures: wait ``wait_s``), ``locked`` (too many
    failures: wait ``wait_s``), ``off`` (no users and no fallback password).
    """

    status: str
    user: User | None = None
    token: str = ""
    wait_s: int = 0


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


_ENSURED: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines whose tables exist
_ENSURE_LOCK = threading.Lock()


class Auth:
    """Users, sessions and sign-in limits on one database (the store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ensure()

    @classmethod
    def for_store(cls, store: Any) -> Auth:
        auth = getattr(store, "_twinning_auth", None)
        if auth is None or auth.engine is not store.engine:
            auth = cls(store.engine)
            with contextlib.suppress(AttributeError):  # a store without a __dict__
                store._twinning_auth = auth
        return auth

    def _ensure(self) -> None:
        if self.engine in _ENSURED:
            return
        with _ENSURE_LOCK:
            if self.engine in _ENSURED:
                return
            for attempt in range(3):  # two workers creating the tables at once
                try:
                    metadata.create_all(self.engine, checkfirst=True)
                    break
                except (OperationalError, ProgrammingError, IntegrityError):
                    if attempt == 2:
                        raise
                    time.sleep(0.2)
            _ENSURED.add(self.engine)

    # --- users --------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str, *, replace: bool = False) -> User:
        from werkzeug.security import generate_password_hash

        name = _check_name(name)
        if role not in ROLES:
            raise AuthError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if len(password) < 8:
            raise AuthError("a password needs at least 8 characters")
        hashed = generate_password_hash(password, method="scrypt")
        now = time.time()
        with self.engine.begin() as conn:
            exists = conn.execute(select(users.c.name).where(users.c.name == name)).first()
            if exists and not replace:
                raise AuthError(f"user {name!r} exists already (use `twinning users passwd`)")
            if exists:
                conn.execute(
                    update(users)
                    .where(users.c.name == name)
                    .values(role=role, password_hash=hashed, changed=now)
                )
                conn.execute(delete(sessions).where(sessions.c.user_name == name))
            else:
                conn.execute(
                    insert(users).values(
                        name=name, role=role, password_hash=hashed, created=now, changed=now
                    )
                )
        return User(name, role)

    def set_password(self, name: str, password: str) -> None:
        user = self.get_user(name)
        if user is None:
            raise AuthError(f"there is no user {name!r}")
        self.add_user(name, user.role, password, replace=True)

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise AuthError(f"role {role!r} is not one of {', '.join(ROLES)}")
        with self.engine.begin() as conn:
            done = conn.execute(
                update(users).where(users.c.name == name).values(role=role, changed=time.time())
            ).rowcount
            if not done:
                raise AuthError(f"there is no user {name!r}")
            conn.execute(delete(sessions).where(sessions.c.user_name == name))

    def remove_user(self, name: str) -> bool:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.user_name == name))
            return bool(conn.execute(delete(users).where(users.c.name == name)).rowcount)

    def get_user(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users.c.name, users.c.role).where(users.c.name == name))
            found = row.first()
        return User(found.name, found.role) if found else None

    def list_users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users.c.name, users.c.role).order_by(users.c.name))
            return [User(r.name, r.role) for r in rows]

    def enabled(self) -> bool:
        """Sign-in is possible: a stored user exists, or the fallback password is set."""
        if settings.get("TWINNING_ADMIN_PASSWORD"):
            return True
        with self.engine.connect() as conn:
            return bool(conn.execute(select(func.count()).select_from(users)).scalar())

    def check_password(self, name: str, password: str) -> User | None:
        """The user when ``password`` is right, else None (same work either way)."""
        from werkzeug.security import check_password_hash

        name = (name or "").strip()
        password = password or ""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users.c.role, users.c.password_hash).where(users.c.name == name)
            ).first()
        if row is not None:
            return (
                User(name, row.role) if check_password_hash(row.password_hash, password) else None
            )
        fallback_pw = settings.get("TWINNING_ADMIN_PASSWORD")
        fallback_user = settings.get("TWINNING_ADMIN_USER")
        ok_user = hmac.compare_digest(name.encode(), fallback_user.encode())
        ok_pw = hmac.compare_digest(password.encode(), fallback_pw.encode())
        check_password_hash(_dummy_hash(), password)  # as long as a stored user's check
        if fallback_pw and ok_user and ok_pw:
            return User(fallback_user, "admin")
        return None

    # --- sessions -----------------------------------------------------------------------

    def start_session(
        self, user: User, address: str | None = None, wait_ms: int | None = None
    ) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        hours = _hours()
        with self._begin(wait_ms) as conn:
            conn.execute(delete(sessions).where(sessions.c.expires < now))
            conn.execute(delete(events).where(events.c.at < now - 86400))
            conn.execute(
                insert(sessions).values(
                    token_sha=_sha(token),
                    user_name=user.name,
                    role=user.role,
                    created=now,
                    expires=now + hours * 3600,
                    address=(address or "")[:64],
                )
            )
        return token

    def session_user(self, token: object, now: float | None = None) -> User | None:
        """The signed-in user of a session token; None if missing, unknown, ended or expired."""
        if not isinstance(token, str) or not token or len(token) > 128:
            return None
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            row = conn.execute(
                select(sessions.c.user_name, sessions.c.role, sessions.c.expires).where(
                    sessions.c.token_sha == _sha(token)
                )
            ).first()
        if row is None or row.expires <= now:
            return None
        return User(row.user_name, row.role)

    def end_session(self, token: object) -> None:
        if isinstance(token, str) and token:
            with self.engine.begin() as conn:
                gone = conn.execute(
                    delete(sessions)
                    .where(sessions.c.token_sha == _sha(token))
                    .returning(sessions.c.user_name)
                ).first()
            if gone is not None:
                log.info("signed out: %r", gone.user_name)

    def end_user_sessions(self, name: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(sessions.c.user_name == name)).rowcount

    # --- sign-in with limits ------------------------------------------------------------

    def sign_in(
        self,
        name: str | None,
        password: str | None,
        address: str | None = None,
        now: float | None = None,
    ) -> SignIn:
        """Check the limits, then the password; start a session when both pass."""
        if not self.enabled():
            return SignIn("off")
        now = time.time() if now is None else now
        name = (name or "").strip()[:MAX_NAME]
        keys = [("signin_user", name.lower(), 1)]
        if address:
            keys.append(("signin_addr", address, ADDRESS_FACTOR))
        refusal = self._refusal(keys, now)
        if refusal is not None:
            log.warning(
                "sign-in refused (%s, %d s) for %r from %s",
                refusal.status,
                refusal.wait_s,
                name,
                address,
            )
            return refusal
        user = self.check_password(name, password or "")
        try:
            if user is None:
                self.record(keys, now, wait_ms=SIGNIN_WAIT_MS)
                log.warning("sign-in failed for %r from %s", name, address)
                return SignIn("failed")
            with self._begin(SIGNIN_WAIT_MS) as conn:  # the user's slate is clean (not the address)
                conn.execute(
                    delete(events).where(
                        events.c.scope == "signin_user", events.c.key == name.lower()
                    )
                )
            token = self.start_session(user, address, wait_ms=SIGNIN_WAIT_MS)
        except OperationalError as exc:
            if not _is_locked(exc):
                raise
            # a long import or undo holds SQLite's write lock: no session, no failure counted
            log.warning("sign-in of %r from %s: the store is busy", name, address)
            return SignIn("busy", wait_s=60)
        log.info("signed in: %r (%s) from %s", user.name, user.role, address)
        return SignIn("ok", user, token)

    def _refusal(self, keys: list[tuple[str, str, int]], now: float) -> SignIn | None:
        window = _lock_minutes() * 60
        free = settings.get_int("TWINNING_SIGNIN_FREE_TRIES")
        most = settings.get_int("TWINNING_SIGNIN_MAX_FAILURES")
        worst: SignIn | None = None
        for scope, key, factor in keys:
            count, last = self.recent(scope, key, now - window)
            if not count:
                continue
            if count >= most * factor:
                wait, status = math.ceil(last + window - now), "locked"
            elif count >= free * factor:
                delay = min(2 ** (count - free * factor), SLOW_CAP_S)
                wait, status = math.ceil(last + delay - now), "slow"
            else:
                continue
            if wait <= 0:
                continue
            rank = (status == "locked", wait)
            if worst is None or rank > (worst.status == "locked", worst.wait_s):
                worst = SignIn(status, wait_s=max(wait, 1))
        return worst

    def recent(self, scope: str, key: str, since: float) -> tuple[int, float]:
        """(number of events, time of the latest) for ``scope``/``key`` since ``since``."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(func.count(), func.max(events.c.at)).where(
                    events.c.scope == scope, events.c.key == key, events.c.at >= since
                )
            ).first()
        return int(row[0] or 0), float(row[1] or 0.0)

    def record(
        self,
        keys: list[tuple[str, str, int]],
        now: float | None = None,
        wait_ms: int | None = None,
    ) -> None:
        now = time.time() if now is None else now
        with self._begin(wait_ms) as conn:
            conn.execute(
                insert(events),
                [{"scope": scope, "key": key[:200], "at": now} for scope, key, _ in keys],
            )

    def hit(self, scope: str, key: str, per_minute: int, now: float | None = None) -> int:
        """Count one request of ``key``; 0 when under ``per_minute``, else seconds to wait."""
        now = time.time() if now is None else now
        count, _ = self.recent(scope, key, now - 60)
        if count >= per_minute:
            with self.engine.connect() as conn:
                oldest = conn.execute(
                    select(events.c.at)
                    .where(events.c.scope == scope, events.c.key == key, events.c.at >= now - 60)
                    .order_by(events.c.at.desc())
                    .offset(per_minute - 1)
                    .limit(1)
                ).scalar()
            return max(1, math.ceil((oldest or now) + 60 - now))
        try:
            self.record([(scope, key, 1)], now, wait_ms=HIT_WAIT_MS)
        except OperationalError as exc:
            if not _is_locked(exc):
                raise
            # the store is busy writing (an import): let the request through uncounted rather
            # than make it wait; the gate's slots and queue still bound the work
            log.info("%s of %s not counted: the store is busy", scope, key)
        return 0

    @contextlib.contextmanager
    def _begin(self, wait_ms: int | None = None) -> Iterator[Any]:
        """A write transaction; on SQLite, waiting at most ``wait_ms`` for the write lock
        (instead of the store's 30 s) when given."""
        sqlite = wait_ms is not None and self.engine.dialect.name == "sqlite"
        with self.engine.begin() as conn:  # a deferred BEGIN: the lock comes with the first write
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_ms)}")
            try:
                yield conn
            finally:  # the pooled connection keeps the store's own timeout
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={STORE_WAIT_MS}")


def _dummy_hash() -> str:
    """A scrypt hash made once, to spend a hash's time on an unknown user."""
    global _DUMMY
    if _DUMMY is None:
        from werkzeug.security import generate_password_hash

        _DUMMY = generate_password_hash(secrets.token_hex(8), method="scrypt")
    return _DUMMY


_DUMMY: str | None = None


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in _LOCKED_WORDS)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME or any(c.isspace() or ord(c) < 32 for c in name):
        raise AuthError(f"user name {name!r}: 1-{MAX_NAME} characters, no spaces")
    return name


def _hours() -> float:
    value = settings.get("TWINNING_SESSION_HOURS")
    try:
        hours = float(value)
    except ValueError as exc:
        raise ValueError(f"setting TWINNING_SESSION_HOURS={value!r} is not a number") from exc
    return max(hours, 0.01)


def _lock_minutes() -> float:
    return max(settings.get_int("TWINNING_SIGNIN_LOCK_MINUTES"), 1)


# --- the default: the store at TWINNING_DATABASE_URL ------------------------------------------

_DEFAULT: dict[str, Auth] = {}
_DEFAULT_LOCK = threading.Lock()


def default_auth() -> Auth:
    """Auth on the database of TWINNING_DATABASE_URL (one engine per URL and process)."""
    url = settings.get("TWINNING_DATABASE_URL")
    with _DEFAULT_LOCK:
        auth = _DEFAULT.get(url)
        if auth is None:
            from twinning.store.db import create_store_engine

            auth = _DEFAULT[url] = Auth(create_store_engine(url))
    return auth


# --- `twinning users …` -----------------------------------------------------------------------


def _read_password(args: argparse.Namespace) -> str:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AuthError("the two passwords differ")
    return first


def cli_users(args: argparse.Namespace) -> int:
    """``twinning users add|passwd|role|remove|list|signout``."""
    auth = Auth(_engine(args))
    try:
        if args.users_cmd == "list":
            for user in auth.list_users():
                print(f"{user.name}\t{user.role}")
            if settings.get("TWINNING_ADMIN_PASSWORD"):
                print(f"{settings.get('TWINNING_ADMIN_USER')}\tadmin (TWINNING_ADMIN_PASSWORD)")
            return 0
        if args.users_cmd == "add":
            user = auth.add_user(args.name, args.role, _read_password(args))
            print(f"added {user.name} ({user.role})")
        elif args.users_cmd == "passwd":
            auth.set_password(args.name, _read_password(args))
            print(f"password of {args.name} changed; their sessions ended")
        elif args.users_cmd == "role":
            auth.set_role(args.name, args.role)
            print(f"{args.name} is now {args.role}; their sessions ended")
        elif args.users_cmd == "remove":
            if not auth.remove_user(args.name):
                raise AuthError(f"there is no user {args.name!r}")
            print(f"removed {args.name} and ended their sessions")
        elif args.users_cmd == "signout":
            print(f"ended {auth.end_user_sessions(args.name)} session(s) of {args.name}")
    except AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _engine(args: argparse.Namespace) -> Engine:
    from twinning.store.db import create_store_engine

    return create_store_engine(
        getattr(args, "database", None) or settings.get("TWINNING_DATABASE_URL")
    )
