"""Every setting has a default and help, is read from the environment, and is in the README."""

from pathlib import Path

import pytest

from twinning import settings

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("name", sorted(settings.SETTINGS))
def test_every_setting_is_documented_in_readme(name: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert f"`{name}`" in text, f"{name} is not documented in README.md (Settings table)"


@pytest.mark.parametrize("name", sorted(settings.SETTINGS))
def test_every_setting_has_help(name: str) -> None:
    assert settings.SETTINGS[name].help.strip()


def test_environment_overrides_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINNING_PORT", "9123")
    assert settings.get_int("TWINNING_PORT") == 9123
    monkeypatch.delenv("TWINNING_PORT")
    assert settings.get("TWINNING_PORT") == settings.SETTINGS["TWINNING_PORT"].default


def test_bad_integer_setting_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINNING_MAX_UPLOAD_MB", "lots")
    with pytest.raises(ValueError, match="TWINNING_MAX_UPLOAD_MB='lots'"):
        settings.get_int("TWINNING_MAX_UPLOAD_MB")


def test_readme_settings_table_lists_only_known_settings() -> None:
    import re

    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(TWINNING_[A-Z_]+)` \|", text, flags=re.M))
    assert documented == set(settings.SETTINGS)
