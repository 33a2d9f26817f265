"""The detail panel's projects (issue #11): a place's imported project-list rows.

Thin: the rows come from ``twinning.query.projects`` (one GROUP BY in SQL); this module
only writes them as a list, each project with its period, funds, people benefited and
lifted out of poverty, donor and recipient as written, and its source.
"""

from __future__ import annotations

from dash import html

from twinning import i18n
from twinning.query.projects import place_projects


def _value(value, unit: str, lang: str) -> str | None:
    if value is None or value != value:  # NULL or NaN: the project states no such figure
        return None
    return i18n.format_qualified(float(value), unit, "exact", lang)


def project_section(data, filters, adcode: str) -> list:
    """[heading, list] of the place's projects; nothing when the place has none."""
    lang = filters.lang
    found = place_projects(data, filters, adcode)
    if not found.n:
        return []
    items = []
    for row in found.rows.itertuples(index=False):
        facts = [
            f"{i18n.metric_label(metric, lang)} {text}"
            for metric, text in (
                ("funds_cny", _value(row.funds, "CNY", lang)),
                ("people_benefited", _value(row.benefited, "persons", lang)),
                ("people_lifted", _value(row.lifted, "persons", lang)),
            )
            if text
        ]
        items.append(
            html.Li(
                [
                    html.Span(
                        i18n.format_period(row.period_start, row.period_end, lang),
                        className="when",
                    ),
                    html.Strong(str(row.project)),
                    html.Span(" · " + " · ".join(facts) if facts else ""),
                    html.Span(f" ({row.donor} → {row.recipient})", className="muted"),
                    html.Div(str(row.source or ""), className="sources"),
                ]
            )
        )
    out: list = [
        html.H3(i18n.t("detail_projects", lang, n=found.n)),
        html.Ul(items, className="detail-list", id="detail-projects"),
    ]
    if found.n > len(found.rows):
        out.append(
            html.P(
                i18n.t("detail_projects_more", lang, n=found.n - len(found.rows)),
                className="muted",
            )
        )
    return out
