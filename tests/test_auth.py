"""Users, server-side sessions and sign-in limits (twinning/auth.py, issue #12)."""

from __future__ import annotations

import io
import threading

import pytest
from sqlalchemy import select

from twinning import auth as auth_mod
from twinning.auth import Auth, AuthError, User
from twinning.store.db import create_store_engine


@pytest.fixture
def auth(tmp_path, monkeypatch):
    monkeypatch.setenv("TWINNING_ADMIN_PASSWORD", "")
    monkeypatch.setenv("TWINNING_SESSION_HOURS", "8")
    for name in (
        "TWINNING_SIGNIN_FREE_TRIES",
        "TWINNING_SIGNIN_MAX_FAILURES",
        "TWINNING_SIGNIN_LOCK_MINUTES",
    ):
        monkeypatch.delenv(name, raising=False)
    engine = create_store_engine(f"sqlite:///{tmp_path / 'auth.sqlite'}")
    yield Auth(engine)
    engine.dispose()


def test_passwords_are_stored_hashed_and_checked(auth):
    auth.add_user("li", "importer", "correct horse")
    with auth.engine.connect() as conn:
        stored = conn.execute(select(auth_mod.users.c.password_hash)).scalar_one()
    assert "correct horse" not in stored and stored.startswith("scrypt:")
    assert auth.check_password("li", "correct horse") == User("li", "importer")
    assert auth.check_password("li", "wrong horse") is None
    assert auth.check_password("nobody", "correct horse") is None
    with pytest.raises(AuthError, match="exists already"):
        auth.add_user("li", "admin", "another password")
    with pytest.raises(AuthError, match="role"):
        auth.add_user("wang", "root", "long enough")
    with pytest.raises(AuthError, match="8 characters"):
        auth.add_user("wang", "viewer", "short")
    with pytest.raises(AuthError, match="no spaces"):
        auth.add_user("wang wei", "viewer", "long enough")


def test_roles_rank_viewer_importer_admin():
    assert User("a", "admin").can("importer") and User("a", "admin").can("viewer")
    assert User("i", "importer").can("importer") and not User("i", "importer").can("admin")
    assert not User("v", "viewer").can("importer") and User("v", "viewer").can("viewer")
    assert not User("x", "bogus").can("viewer")


def test_sessions_are_stored_hashed_expire_and_end(auth, monkeypatch):
    auth.add_user("li", "importer", "correct horse")
    result = auth.sign_in("li", "correct horse", "10.0.0.1")
    assert result.status == "ok" and len(result.token) >= 40
    with auth.engine.connect() as conn:
        row = conn.execute(select(auth_mod.sessions)).one()
    assert row.token_sha != result.token and result.token not in str(tuple(row))
    assert auth.session_user(result.token) == User("li", "importer")
    # expiry: TWINNING_SESSION_HOURS after the start
    assert auth.session_user(result.token, now=row.created + 8 * 3600 - 1) is not None
    assert auth.session_user(result.token, now=row.created + 8 * 3600 + 1) is None
    # sign-out ends it; a second Auth on the same database (another worker) agrees
    other_worker = Auth(create_store_engine(str(auth.engine.url)))
    assert other_worker.session_user(result.token) == User("li", "importer")
    auth.end_session(result.token)
    assert other_worker.session_user(result.token) is None
    assert auth.session_user(result.token) is None
    other_worker.engine.dispose()


def test_short_sessions_setting(auth, monkeypatch):
    monkeypatch.setenv("TWINNING_SESSION_HOURS", "0.5")
    auth.add_user("li", "viewer", "correct horse")
    token = auth.sign_in("li", "correct horse").token
    with auth.engine.connect() as conn:
        row = conn.execute(select(auth_mod.sessions)).one()
    assert row.expires - row.created == pytest.approx(1800)
    assert auth.session_user(token) is not None


def test_password_role_change_and_removal_end_sessions(auth):
    auth.add_user("li", "importer", "correct horse")
    token = auth.sign_in("li", "correct horse").token
    auth.set_role("li", "viewer")
    assert auth.session_user(token) is None
    token = auth.sign_in("li", "correct horse").token
    assert auth.session_user(token) == User("li", "viewer")
    auth.set_password("li", "battery staple")
    assert auth.session_user(token) is None
    assert auth.sign_in("li", "correct horse").status == "failed"
    token = auth.sign_in("li", "battery staple").token
    assert auth.remove_user("li") and auth.session_user(token) is None
    assert auth.sign_in("li", "battery staple").status == "off"  # no user, no fallback left


def test_forged_or_odd_tokens_are_nobody(auth):
    auth.add_user("li", "importer", "correct horse")
    token = auth.sign_in("li", "correct horse").token
    for bad in (None, "", 3, ["x"], token + "x", token[:-2], "x" * 10_000, "li:9999999999:ab"):
        assert auth.session_user(bad) is None


def test_fallback_admin_password_keeps_working(auth, monkeypatch):
    monkeypatch.setenv("TWINNING_ADMIN_USER", "boss")
    monkeypatch.setenv("TWINNING_ADMIN_PASSWORD", "old-setting")
    assert auth.enabled()
    result = auth.sign_in("boss", "old-setting")
    assert result.status == "ok" and result.user == User("boss", "admin")
    assert auth.sign_in("boss", "nope").status == "failed"
    # a stored user of that name wins over the setting
    auth.add_user("boss", "viewer", "stored password")
    assert auth.sign_in("boss", "old-setting").status == "failed"
    assert auth.sign_in("boss", "stored password").user == User("boss", "viewer")


def test_nothing_to_sign_in_with_is_off(auth):
    assert not auth.enabled()
    assert auth.sign_in("admin", "").status == "off"


def test_failures_slow_down_then_lock_even_the_right_password(auth):
    auth.add_user("li", "importer", "correct horse")
    t0 = 1_000_000.0
    for i in range(3):  # the free tries
        assert auth.sign_in("li", "guess", "10.0.0.1", now=t0 + i).status == "failed"
    # the fourth comes too soon after the third: not even checked
    slow = auth.sign_in("li", "correct horse", "10.0.0.1", now=t0 + 2.5)
    assert slow.status == "slow" and 1 <= slow.wait_s <= 2
    # waiting it out, the tries go on, each further one waiting twice as long
    now = t0 + 2
    waits = []
    for _ in range(7):
        probe = auth.sign_in("li", "guess", "10.0.0.1", now=now)
        if probe.status == "slow":
            waits.append(probe.wait_s)
            now += probe.wait_s
            probe = auth.sign_in("li", "guess", "10.0.0.1", now=now)
        assert probe.status == "failed"
    assert waits == sorted(waits) and waits[-1] >= 32
    # ten failures: locked for the lock time, the right password refused too
    locked = auth.sign_in("li", "correct horse", "10.0.0.1", now=now + 61)
    assert locked.status == "locked" and locked.wait_s == 15 * 60 - 61
    assert auth.sign_in("li", "correct horse", "10.0.0.2", now=now + 120).status == "locked"
    # after the lock time the right password works and clears the user's failures
    ok = auth.sign_in("li", "correct horse", "10.0.0.3", now=now + 15 * 60 + 1)
    assert ok.status == "ok"
    assert auth.recent("signin_user", "li", 0) == (0, 0.0)


def _guess_many_names(auth, address: str, now: float) -> tuple[list[str], float]:
    """40 wrong passwords from ``address``, a different name each time (only the address
    adds up), 0.1 s apart, waiting out each "slow": the statuses, and the time after."""
    statuses = []
    for i in range(40):
        result = auth.sign_in(f"user{i}", "guess", address, now=now)
        if result.status == "slow":
            now += result.wait_s
            result = auth.sign_in(f"user{i}", "guess", address, now=now)
        statuses.append(result.status)
        now += 0.1
    return statuses, now


def test_an_address_trying_many_names_is_limited_too(auth, monkeypatch):
    # an hour, so that 30 failures an hour apart at most 60 s count together
    monkeypatch.setenv("TWINNING_SIGNIN_LOCK_MINUTES", "60")
    t0 = 2_000_000.0
    statuses, _ = _guess_many_names(auth, "10.9.9.9", t0)
    assert statuses[:30] == ["off"] * 30 or "locked" in statuses  # off: no users at all
    auth.add_user("li", "viewer", "correct horse")
    statuses, now = _guess_many_names(auth, "10.9.9.8", t0)
    assert statuses.count("failed") == 30 and statuses[30:] == ["locked"] * 10
    assert auth.sign_in("li", "correct horse", "10.9.9.8", now=now).status == "locked"
    assert auth.sign_in("li", "correct horse", "10.9.9.7", now=now).status == "ok"


def test_limit_settings(auth, monkeypatch):
    monkeypatch.setenv("TWINNING_SIGNIN_FREE_TRIES", "1")
    monkeypatch.setenv("TWINNING_SIGNIN_MAX_FAILURES", "2")
    monkeypatch.setenv("TWINNING_SIGNIN_LOCK_MINUTES", "1")
    auth.add_user("li", "viewer", "correct horse")
    t0 = 3_000_000.0
    assert auth.sign_in("li", "x", now=t0).status == "failed"
    assert auth.sign_in("li", "x", now=t0 + 0.5).status == "slow"
    assert auth.sign_in("li", "x", now=t0 + 1).status == "failed"
    assert auth.sign_in("li", "correct horse", now=t0 + 30).status == "locked"
    assert auth.sign_in("li", "correct horse", now=t0 + 62).status == "ok"


def test_rate_hits_per_minute(auth):
    t0 = 4_000_000.0
    assert [auth.hit("export_addr", "10.0.0.1", 3, now=t0 + i) for i in range(3)] == [0, 0, 0]
    wait = auth.hit("export_addr", "10.0.0.1", 3, now=t0 + 3)
    assert wait == 57  # the first of the three leaves the minute at t0 + 60
    assert auth.hit("export_addr", "10.0.0.2", 3, now=t0 + 3) == 0
    assert auth.hit("export_addr", "10.0.0.1", 3, now=t0 + 61) == 0


def test_tables_appear_once_with_many_threads(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'race.sqlite'}")
    errors = []

    def start():
        try:
            Auth(engine).list_users()
        except Exception as exc:  # pragma: no cover - what the test looks for
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    engine.dispose()


def test_cli_users(tmp_path, monkeypatch, capsys):
    from twinning.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("TWINNING_DATABASE_URL", url)
    monkeypatch.setenv("TWINNING_ADMIN_PASSWORD", "")
    monkeypatch.setattr("sys.stdin", io.StringIO("importer-pass\n"))
    assert main(["users", "add", "zhang", "--role", "importer", "--password-stdin"]) == 0
    assert main(["users", "list"]) == 0
    assert "zhang\timporter" in capsys.readouterr().out
    engine = create_store_engine(url)
    auth = Auth(engine)
    token = auth.sign_in("zhang", "importer-pass").token
    assert main(["users", "role", "zhang", "admin"]) == 0
    assert auth.session_user(token) is None
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "passwd", "zhang", "--password-stdin"]) == 1
    assert "8 characters" in capsys.readouterr().err
    assert main(["users", "remove", "zhang"]) == 0
    assert main(["users", "remove", "zhang"]) == 1
    engine.dispose()


def test_sign_ins_are_logged_without_secrets(auth, caplog):
    auth.add_user("li", "importer", "correct horse")
    with caplog.at_level("INFO", logger="twinning.auth"):
        auth.sign_in("li", "wrong horse", "10.0.0.5")
        token = auth.sign_in("li", "correct horse", "10.0.0.5").token
        auth.end_session(token)
    text = caplog.text
    assert "sign-in failed for 'li' from 10.0.0.5" in text
    assert "signed in: 'li' (importer) from 10.0.0.5" in text and "signed out: 'li'" in text
    assert "horse" not in text and token not in text


def test_a_store_locked_by_a_long_write_gives_busy_not_a_30_s_wait(auth):
    """An import holds SQLite's write lock: sign-in says busy within seconds, counting an
    export lets it through uncounted at once, and reading a session still works."""
    import time as clock

    auth.add_user("li", "importer", "correct horse")
    token = auth.sign_in("li", "correct horse").token
    blocker = create_store_engine(str(auth.engine.url))
    with blocker.begin() as conn:  # another process's import, mid-transaction
        conn.exec_driver_sql("INSERT INTO auth_events (scope, key, at) VALUES ('x', 'y', 0)")
        started = clock.monotonic()
        assert auth.sign_in("li", "correct horse").status == "busy"
        assert clock.monotonic() - started < auth_mod.SIGNIN_WAIT_MS / 1000 + 3
        started = clock.monotonic()
        assert auth.hit("export_addr", "10.0.0.1", 5) == 0
        assert clock.monotonic() - started < 2
        assert auth.session_user(token) == User("li", "importer")  # WAL: reads go on
    blocker.dispose()
    # afterwards the store's own 30 s timeout is back on the pooled connection
    with auth.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    assert auth.sign_in("li", "correct horse").status == "ok"
