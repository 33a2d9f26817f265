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
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 2  # 2: pairings/figures.resolution_note (twinning.store.migrate)

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
)

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
)
