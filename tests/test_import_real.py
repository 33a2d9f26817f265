"""An import against the real store and gazetteer (conftest's ``store``): historical,
short and English names resolve, and the new figures reach the Store's frames, which
the atlas draws from; undo takes them out again."""

from __future__ import annotations

import pytest


@pytest.fixture
def register(tmp_path):
    f = tmp_path / "register.csv"
    f.write_text(
        "帮扶方,受援地,年度,帮扶资金(亿元),项目数,来源\n"
        "上海市,莎车,2019,1.5,12,2019年援疆台账\n"
        "上海市,Shache,2020,超过2,15,2020年援疆台账\n"
        "上海市,日喀则地区,2018,约3,,援藏台账\n"
        "上海市,思茅市,2006-2010,0.25,,十一五总结\n",
        encoding="gbk",
    )
    return f


def test_real_import_reaches_the_frames_and_undo_removes_it(store, register, monkeypatch, tmp_path):
    from twinning.imports.keep import run_import, undo_batch

    monkeypatch.setenv("TWINNING_UPLOAD_DIR", str(tmp_path / "up"))
    before = len(store.figures_frame())
    result = run_import(register, store, user="office")
    assert result.ok, [p.line() for p in result.report.problems]
    assert result.totals == {
        "funds_cny": {"value": 675_000_000, "unit": "CNY"},
        "projects": {"value": 27, "unit": "projects"},
    }
    frame = store.figures_frame()
    new = frame[frame["batch_id"] == result.batch_id].sort_values(["row_number", "metric"])
    assert len(new) == 6 and len(frame) == before + 6
    assert list(new["recipient_adcode"]) == ["653125"] * 4 + ["540200", "530800"]
    funds = new[new["metric"] == "funds_cny"]
    assert list(funds["value"]) == [150_000_000, 200_000_000, 300_000_000, 25_000_000]
    assert list(funds["qualifier"]) == ["exact", "lower_bound", "approx", "exact"]
    period = funds[funds["recipient_adcode"] == "530800"].iloc[0]
    assert (period["period_start"], period["period_end"]) == (2006, 2010)
    assert set(new["source"]) == {"2019年援疆台账", "2020年援疆台账", "援藏台账", "十一五总结"}
    undo_batch(store, result.batch_id, "office")
    assert len(store.figures_frame()) == before
