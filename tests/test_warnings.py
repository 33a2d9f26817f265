"""The test run refuses deprecations from the project's own code (issue #8): a
DeprecationWarning or FutureWarning raised in ``twinning`` or ``components`` (or by a
library, pointing at the project's call) fails the test that caused it
(pyproject.toml, ``filterwarnings``); a library's warning about itself does not."""

from __future__ import annotations

import warnings

import pytest


@pytest.mark.parametrize("category", [DeprecationWarning, FutureWarning])
@pytest.mark.parametrize("module", ["twinning.view", "components.callbacks"])
def test_a_deprecation_in_the_project_is_an_error(category, module) -> None:
    with pytest.raises(category):
        warnings.warn_explicit("old call", category, "x.py", 1, module=module)


def test_a_librarys_own_deprecation_is_not() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.warn_explicit("old call", DeprecationWarning, "x.py", 1, module="plotly.io")
    assert len(seen) == 1
