"""Reading numbers as offices write them: 1,200 / １２３，４５６ / 约300 / 200多万 / 超过5亿元.

Why a parser of our own: registers mix full-width digits, thousands separators,
qualifiers (约, 超过, more than) and units inside the cell. ``float()`` would lose
both the qualifier and exactness, so values are Decimal and the qualifier is kept
(``exact``, ``approx``, ``lower_bound``, ``upper_bound``). Anything unreadable raises
``ParseError`` and nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from twinning.imports.problems import ParseError, texts

EXACT, APPROX, LOWER, UPPER = "exact", "approx", "lower_bound", "upper_bound"

BLANKS = {"", "-", "--", "—", "——", "–", "/", "n/a", "na", "null", "none", "无数据"}

# Longest first: "超过" before "超", "more than" before "over".
_PREFIXES: list[tuple[str, str]] = sorted(
    [
        ("约", APPROX),
        ("大约", APPROX),
        ("近", APPROX),
        ("将近", APPROX),
        ("接近", APPROX),
        ("约合", APPROX),
        ("about", APPROX),
        ("approx.", APPROX),
        ("approx", APPROX),
        ("approximately", APPROX),
        ("around", APPROX),
        ("nearly", APPROX),
        ("almost", APPROX),
        ("~", APPROX),
        ("≈", APPROX),
        ("circa", APPROX),
        ("ca.", APPROX),
        ("超过", LOWER),
        ("超", LOWER),
        ("逾", LOWER),
        ("多于", LOWER),
        ("至少", LOWER),
        ("不少于", LOWER),
        ("more than", LOWER),
        ("over", LOWER),
        ("above", LOWER),
        ("at least", LOWER),
        (">=", LOWER),
        (">", LOWER),
        ("≥", LOWER),
        ("不到", UPPER),
        ("不足", UPPER),
        ("少于", UPPER),
        ("less than", UPPER),
        ("under", UPPER),
        ("<=", UPPER),
        ("<", UPPER),
        ("≤", UPPER),
    ],
    key=lambda kv: -len(kv[0]),
)
_PREFIX_STARTS = {w[0] for w, _ in _PREFIXES}
_PLAIN = re.compile(r"^\s*-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?\s*$")

_SUFFIXES: list[tuple[str, str]] = [
    ("以上", LOWER),
    ("多", LOWER),
    ("余", LOWER),
    ("左右", APPROX),
    ("上下", APPROX),
    ("以下", UPPER),
    ("+", LOWER),
    ("plus", LOWER),
]

_NUMBER = re.compile(
    r"""
    (?P<sign>[-−])?\s*
    (?P<num>
        \d{1,3}(?:,\d{3})+(?:\.\d+)?      # 1,200 or 1,234,567.89
      | \d+(?:\.\d+)?                     # 1200 or 1200.5
      | \.\d+                             # .5
    )
    (?P<exp>[eE][+-]?\d+)?
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Number:
    """A number as written: its exact value, qualifier and the unit text after it."""

    value: Decimal
    qualifier: str = EXACT
    unit_text: str = ""  # e.g. "万元", "万", "%", "" when the cell is a bare number
    text: str = ""  # the cell as written


@lru_cache(maxsize=8192)
def normalise_text(text: str) -> str:
    """NFKC (full-width digits and punctuation to ASCII), one space, trimmed.

    Cached: registers repeat the same donors, places and years on every row.
    """
    if text.isascii():
        return " ".join(text.replace("\u00a0", " ").split())
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u00a0", " ").replace("，", ",").replace("。", ".")
    return " ".join(text.split())


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return normalise_text(value).lower() in BLANKS
    return False


def _from_native(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))  # shortest repr: 0.1 stays 0.1
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None


def parse_number(value: object) -> Number | None:
    """Read one cell; ``None`` for a blank cell. Raises ``ParseError`` if unreadable."""
    if is_blank(value):
        return None
    if not isinstance(value, str):
        native = _from_native(value)
        if native is None:
            raise ParseError(
                **texts("problem.not_a_number.value", "problem.not_a_number.digits", value=value)
            )
        return Number(native, EXACT, "", str(value))
    if value.startswith("="):
        raise ParseError(
            **texts("problem.not_a_number.formula", "problem.not_a_number.formula.fix", value=value)
        )
    fast = _PLAIN.match(value)
    if fast:  # the common case, "1,234.5": no qualifier, no unit
        return Number(Decimal(value.strip().replace(",", "")), EXACT, "", value)
    original = value
    s = normalise_text(value)
    qualifier = EXACT
    low = s.lower()
    for word, q in _PREFIXES if low[:1] in _PREFIX_STARTS else ():
        if low.startswith(word):
            s = s[len(word) :].lstrip()
            low = s.lower()
            qualifier = q
            break
    m = _NUMBER.match(s)
    if not m:
        raise ParseError(
            **texts("problem.not_a_number.value", "problem.not_a_number.text_fix", value=original)
        )
    try:
        num = Decimal(m.group("num").replace(",", "") + (m.group("exp") or ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise ParseError(**texts("problem.not_a_number.value", value=original)) from exc
    if not num.is_finite() or abs(num.adjusted()) > 30:
        raise ParseError(
            **texts("problem.not_a_number.range", "problem.not_a_number.range.fix", value=original)
        )
    if m.group("sign"):
        num = -num
    rest = s[m.end() :].strip()
    # 200多万 / 300余人 / 1,000+ (qualifier right after the digits)
    for word in ("多", "余", "+"):
        if rest.startswith(word):
            rest = rest[len(word) :].strip()
            qualifier = LOWER if qualifier == EXACT else qualifier
            break
    # 5亿元以上 / 300人左右 (qualifier after the unit)
    for word, q in _SUFFIXES:
        if rest.endswith(word):
            rest = rest[: -len(word)].strip()
            qualifier = q if qualifier == EXACT else qualifier
            break
    if rest and (_NUMBER.search(rest) and any(ch.isdigit() for ch in rest)):
        raise ParseError(
            **texts(
                "problem.not_a_number.several", "problem.not_a_number.several.fix", value=original
            )
        )
    return Number(num, qualifier, rest, original if isinstance(original, str) else str(original))


def format_decimal(value: Decimal) -> str:
    """Plain digits without exponent, e.g. Decimal('1.2E+7') -> '12000000'."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
