"""How the console writes numbers and money, in one place: thousands
separators from the active language's formats (console/formats/), an amount
always with its currency, and no decimals for currencies without minor
units (KRW, JPY)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import get_language

register = template.Library()

# ISO 4217 currencies written without minor units.
WHOLE_CURRENCIES = {"KRW", "JPY", "VND", "CLP", "ISK", "TWD"}
SYMBOLS = {"KRW": "₩", "USD": "$", "JPY": "¥", "EUR": "€", "GBP": "£"}


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def count(value: object) -> str:
    """A whole number with thousands separators: 1234567 → 1,234,567."""
    number = _decimal(value)
    if number is None:
        return "–"
    return number_format(int(number), decimal_pos=0, use_l10n=True, force_grouping=True)


@register.filter
def money(value: object, currency: str = "") -> str:
    """An amount with its currency: ₩45,000 (KRW, no decimals), $12.50;
    in Korean a won amount reads 45,000원."""
    number = _decimal(value)
    if number is None:
        return "–"
    code = (currency or settings.CURRENCY).upper()
    places = 0 if code in WHOLE_CURRENCIES else 2
    # number_format cuts extra digits off; round half up first.
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)
    if code == "KRW" and (get_language() or "").startswith("ko"):
        return f"{text}원"
    symbol = SYMBOLS.get(code)
    return f"{symbol}{text}" if symbol else f"{text} {code}"


@register.filter
def percent(rate: float | None) -> str:
    """A rate (0.0123) as "1.23 %"; "–" when there is none yet."""
    if rate is None:
        return "–"
    share = Decimal(str(rate * 100)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return number_format(share, decimal_pos=2, use_l10n=True, force_grouping=True) + " %"


@register.filter
def change(current: object, previous: object) -> dict | None:
    """The change from `previous` to `current` for a card: the direction and
    the relative size ("+12.5 %"), or None when there is nothing to compare."""
    now, before = _decimal(current), _decimal(previous)
    if now is None or before is None:
        return None
    if before == 0:
        return None if now == 0 else {"direction": "up", "text": ""}
    ratio = ((now - before) / before * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    direction = "up" if ratio > 0 else "down" if ratio < 0 else "flat"
    sign = "+" if ratio > 0 else ""
    text = sign + number_format(ratio, decimal_pos=1, use_l10n=True, force_grouping=True) + " %"
    return {"direction": direction, "text": text}
