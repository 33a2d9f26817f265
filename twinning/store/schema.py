"""The store's tables (SQLAlchemy Core). One schema for SQLite and PostgreSQL.

SCHEMA_VERSION is written to ``meta``; ``twinning.store.migrate`` upgrades an older
store step by step without losing rows. Bump it and add a step when a table changes.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

SCHEMA_VERSION = 8  # 8: ix_figures_shown (table pages of a metric, #7); see migrate.py

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Every administrative unit of data/geo (province, prefecture, county), today's adcodes.
places = Table(
    "places",
    metadata,
    Column("adcode", String(6), primary_key=True),
    Column("level", String(16), nullable=False),  # province | prefecture | county
    Column("name_zh", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("province_adcode", String(6)),
    Column("prefecture_adcode", String(6)),
)

# One row per import: the reference seed is batch kind="reference"; user files kind="import".
batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # reference | import
    Column("user", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("stored_path", Text),  # where the original file is kept
    Column("mapping_json", Text),  # header -> field mapping used
    Column("undone_at", DateTime(timezone=True)),
    Column("undone_by", Text),
)

# Donor -> recipient relationships, resolved to adcodes where possible.
pairings = Table(
    "pairings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False, index=True),
    Column("row_number", Integer),  # 1-based data row in the source file
    Column("program", String(64), nullable=False),
    Column("donor_province", Text, nullable=False),
    Column("donor_unit", Text),
    Column("donor_adcode", String(6)),  # most specific resolved donor unit, if any
    Column("donor_province_adcode", String(6)),
    Column("recipient_province", Text),
    Column("recipient_prefecture", Text),
    Column("recipient_county", Text),
    Column("recipient_adcode", String(6)),  # most specific resolved unit
    Column("recipient_level", String(16)),  # province | prefecture | county
    Column("recipient_province_adcode", String(6)),
    Column("recipient_prefecture_adcode", String(6)),
    Column("start_year", Integer),
    Column("end_year", Integer),
    Column("source", Text, nullable=False),
    Column("confidence", String(32), nullable=False),  # seen_in_source | from_memory | ...
    Column("unresolved_reason", Text),  # set when recipient_adcode is NULL
    Column("resolution_note", Text),  # how a place was reached when not by its plain name
    # Derived by twinning.store.derive after every write (never by hand): the recipient at
    # each map level, and the keys the filters use. See docs/CONTRACTS.md.
    Column("r_province", String(6)),
    Column("r_prefecture", String(6)),
    Column("r_county", String(6)),
    Column("donor_key", Text),  # donor province adcode, or its name when it has none
    Column("donor_unit_key", Text),  # donor city/district adcode, or its name
    # an XPCC division (xpcc:<n>, data/reference/xpcc_divisions.csv): drawn at its seat
    Column("recipient_division", Text),
)
Index("ix_pairings_r_province", pairings.c.r_province)

# Quantitative figures, each with its period, unit, qualifier, quote and source.
figures = Table(
    "figures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False, index=True),
    Column("row_number", Integer),
    Column("program", String(64)),
    Column("donor", Text, nullable=False),  # as written in the source
    Column("recipient", Text, nullable=False),  # as written in the source
    Column("donor_adcode", String(6)),
    Column("recipient_adcode", String(6)),
    Column("recipient_level", String(16)),
    Column("period_start", Integer),  # equal to period_end for a single-year figure
    Column("period_end", Integer),
    Column("metric", String(128), nullable=False, index=True),
    Column("value", Float, nullable=False),  # canonical base unit (yuan, persons, ...)
    Column("unit", Text, nullable=False),  # canonical unit, as in figures.csv
    Column("value_original", Text),  # as written in the file (e.g. "1,200")
    Column("unit_original", Text),  # as written (e.g. 万元)
    Column("qualifier", String(16)),  # exact | lower_bound | approx
    Column("quote", Text),
    Column("source", Text, nullable=False),
    Column("confidence", String(32), nullable=False),
    Column("is_context", Boolean, nullable=False, default=False),  # metric starts with context_
    Column("unresolved_reason", Text),
    Column("resolution_note", Text),  # how donor/recipient were reached, or why the donor wasn't
    # Derived by twinning.store.derive after every write (never by hand): the recipient at
    # each map level, and the keys the filters use. See docs/CONTRACTS.md.
    Column("r_province", String(6)),
    Column("r_prefecture", String(6)),
    Column("r_county", String(6)),
    Column("donor_key", Text),  # donor province adcode, or its name when it has none
    Column("donor_unit_key", Text),  # donor city/district adcode, or its name
    # False for the second and later copies of one figure (same donor, recipient, metric,
    # value and period as a row with a lower id in an active batch): never summed twice.
    Column("counted", Boolean, nullable=False, default=True, server_default="1"),
    # The recipient's scope when it is not one place (issue #10): a group key of
    # data/reference/groups.csv, "list" (several places in the cell) or a division
    # (xpcc:<n>); its members are rows of figure_scopes. NULL: recipient_adcode says it.
    Column("scope_group", Text),
    # Reported in or by the donor itself (training in Shanghai, awards, its outlets):
    # shown with the donor, never on a recipient.
    Column("donor_side", Boolean, nullable=False, default=False, server_default="0"),
    # What a figure is about inside its place, donor and year (issue #11): the project of a
    # project list (项目名称) and the part of a total it is (帮扶资金/财政援助资金). Two
    # projects of one county with equal funds are two figures, not one figure twice.
    Column("project", Text),
    Column("part", Text),
)
Index("ix_figures_dedupe", figures.c.metric, figures.c.value)
Index("ix_figures_metric_r_province", figures.c.metric, figures.c.r_province)
Index("ix_figures_r_prefecture", figures.c.r_prefecture)  # a place's detail panel
Index("ix_figures_r_county", figures.c.r_county)
# Period and cumulative figures, which a series lists one by one (few among many).
_SPANS = text("period_start IS NULL OR period_start <> period_end")
Index(
    "ix_figures_spans",
    figures.c.metric,
    figures.c.period_end,
    sqlite_where=_SPANS,
    postgresql_where=_SPANS,
)
# ... and those of one donor: a donor's series lists its period figures, which the index
# above finds only among every donor's (10 M figures: 0.6-0.9 s -> milliseconds, #7)
Index(
    "ix_figures_spans_donor",
    figures.c.metric,
    figures.c.donor_key,
    figures.c.period_end,
    sqlite_where=_SPANS,
    postgresql_where=_SPANS,
)

# The figures a table shows (never background figures), of one metric, in id order: a
# table page deep into the 4.2 M figures of a metric reads these index entries only, not
# each row before it (10 M figures: 1.2-2.9 s -> well under a second, #7)
_SHOWN = text("NOT is_context")
Index("ix_figures_shown", figures.c.metric, sqlite_where=_SHOWN, postgresql_where=_SHOWN)

# The places a figure is about, one row per (figure, side, member), for the figures whose
# scope is not their one recipient_adcode / donor_adcode: groups, lists, XPCC divisions,
# donor groups. Written with the figures by their writer (twinning.store.derive.write_scopes);
# read through twinning.query.scopes.figure_scopes.
figure_scopes = Table(
    "figure_scopes",
    metadata,
    Column("figure_id", Integer, ForeignKey("figures.id"), primary_key=True),
    Column("side", String(16), primary_key=True),  # recipient | donor
    Column("member", String(16), primary_key=True),  # adcode or xpcc:<n>
    Column("member_level", String(16)),  # province | prefecture | county | xpcc
)
Index("ix_figure_scopes_member", figure_scopes.c.member, figure_scopes.c.side)

# A donor's own figures (donor-side, issue #10), which its detail lists: few among many.
_DONOR_SIDE = text("donor_side")
Index(
    "ix_figures_donor_side",
    figures.c.donor_key,
    sqlite_where=_DONOR_SIDE,
    postgresql_where=_DONOR_SIDE,
)
Index(
    "ix_figures_donor_side_unit",
    figures.c.donor_unit_key,
    sqlite_where=_DONOR_SIDE,
    postgresql_where=_DONOR_SIDE,
)

# (adcode, level) -> that unit's code at each map level. Computed from the shipped
# boundaries' places (units listed at two levels, 东莞 or 北京, have a row per level);
# roll-ups are SQL joins on it, never per-row Python.
place_levels = Table(
    "place_levels",
    metadata,
    Column("adcode", String(6), primary_key=True),
    Column("level", String(16), primary_key=True),
    Column("is_default", Boolean, nullable=False),  # the unit's highest level
    Column("r_province", String(6)),
    Column("r_prefecture", String(6)),
    Column("r_county", String(6)),
)

# Figures of active batches summed over every dimension a filter or a view can take.
# Rebuilt by twinning.store.derive after each write; maps, flows, series and headlines
# read it instead of the figure rows, so a view costs the same at 10 M figures as at 256.
figure_totals = Table(
    "figure_totals",
    metadata,
    Column("metric", String(128), nullable=False),
    Column("is_context", Boolean, nullable=False),
    Column("unit", Text),
    Column("program", String(64)),
    Column("donor_key", Text),
    Column("donor_unit_key", Text),
    Column("from_memory", Boolean, nullable=False),
    Column("resolved", Boolean, nullable=False),  # the recipient has an adcode or a scope
    Column("r_province", String(6)),
    Column("r_prefecture", String(6)),
    Column("r_county", String(6)),
    Column("period_start", Integer),
    Column("period_end", Integer),
    Column("value", Float, nullable=False),  # sum over counted figures
    Column("n", Integer, nullable=False),  # counted figures
    Column("n_rows", Integer, nullable=False),  # every figure row, copies included
)
Index("ix_figure_totals_metric", figure_totals.c.metric, figure_totals.c.r_province)

# Presenter tours (issue #9): a sequence of views, each a permalink query with a title and
# a note in both languages. Written by signed-in importers and admins (who and when kept),
# read by anyone at /tour/<id>. Not records: a tour's writes leave data_version alone.
tours = Table(
    "tours",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

tour_stops = Table(
    "tour_stops",
    metadata,
    Column("tour_id", Integer, ForeignKey("tours.id"), primary_key=True),
    Column("position", Integer, primary_key=True),  # 0, 1, 2 ... in the order shown
    Column("query", Text, nullable=False),  # the view's permalink query (Filters)
    Column("title_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("note_zh", Text, nullable=False, default=""),
    Column("note_en", Text, nullable=False, default=""),
)
