"""Pieces every business record shares: audit stamps, optimistic version, owner unit, helpers for choices."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DateTimeField,
    DecimalField,
    Document,
    EmbeddedDocument,
    IntField,
    ReferenceField,
    StringField,
    ValidationError,
)
from mongoengine.errors import SaveConditionError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

CENT = Decimal("0.01")


def utcnow() -> dt.datetime:
    """Naive UTC now, as MongoDB stores it (millisecond precision)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def field_error(field: str, message) -> ValidationError:
    """A ValidationError that names `field`, so the form shows `message` next to it.

    A dotted path names a cell of a line: `"items.2.amount"` is the amount of the third line.
    """
    text = str(message)
    *path, name = field.split(".")
    errors: dict = {name: ValidationError(text, field_name=name)}
    for part in reversed(path[1:]):
        errors = {part: errors}
    if path:
        errors = {path[0]: errors}
    return ValidationError(text, errors=errors)


def absurd(number: Decimal) -> bool:
    """NaN, an infinity or 10^13 and more: no amount or score a person means. Read from the exponent, because
    `abs()` of a number like 1e999999999 overflows the decimal context."""
    return not number.is_finite() or (number != 0 and number.adjusted() >= 13)


def money(value) -> Decimal:
    """A CNY amount as a Decimal with two places (half up); never a float."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(value if value is not None else 0)
        if absurd(amount):
            raise ValueError(f"not an amount: {value!r}")
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def to_fen(value) -> int:
    """An amount in fen (0.01 CNY), the integer form MoneyField stores."""
    return int(money(value) * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(CENT)


class MoneyField(DecimalField):
    """CNY with two decimals. Stored as an integer number of fen, so that comparisons, `$inc` and `$sum` in
    MongoDB are exact on a server and on the embedded store alike (mongomock has no Decimal128).

    In Python the value is always a Decimal; integers given in code mean yuan. Raw documents (`as_pymongo`,
    aggregations) hold fen: divide by 100 with `from_fen`.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("precision", 2)
        kwargs.setdefault("rounding", ROUND_HALF_UP)
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("max_value", Decimal("9999999999.99"))
        super().__init__(**kwargs)

    def to_mongo(self, value):
        return None if value is None else to_fen(self.to_python(value))

    def prepare_query_value(self, op, value):
        return value if value is None else to_fen(value)


def _fen_to_yuan(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return from_fen(value)
    if isinstance(value, list):
        return [_fen_to_yuan(v) for v in value]
    return value


def _money_from_son(cls, son):
    """Turn the fen a MoneyField (or a list of them) stores back into yuan before mongoengine converts the raw
    document; integers given in code mean yuan, so the two must not meet in `to_python`."""
    if not isinstance(son, dict):
        return son
    money_fields = cls.__dict__.get("_money_db_fields")
    if money_fields is None:
        money_fields = tuple(f.db_field for f in cls._fields.values()
                             if isinstance(f, MoneyField) or isinstance(getattr(f, "field", None), MoneyField))
        cls._money_db_fields = money_fields
    if not any(db in son for db in money_fields):
        return son
    son = dict(son)
    for db in money_fields:
        if db in son:
            son[db] = _fen_to_yuan(son[db])
    return son


class PortalEmbedded(EmbeddedDocument):
    """Base of embedded lines; knows how MoneyField is stored."""

    meta = {"abstract": True}

    @classmethod
    def _from_son(cls, son, *args, **kwargs):
        return super()._from_son(_money_from_son(cls, son), *args, **kwargs)


class StaleRecord(ValidationError):
    """Someone else saved the record after it was read: refuse rather than overwrite."""


class PortalDocument(Document):
    """Base of every portal collection: who created and changed it, and a version for lost-update protection."""

    meta = {"abstract": True}
    audit_exclude: tuple[str, ...] = ()  # fields never copied into the audit trail

    created_at = DateTimeField(verbose_name=_l("Created at"))
    created_by = StringField(max_length=64, verbose_name=_l("Created by"))
    updated_at = DateTimeField(verbose_name=_l("Updated at"))
    updated_by = StringField(max_length=64, verbose_name=_l("Updated by"))
    version = IntField(default=0, min_value=0, verbose_name=_l("Version"))

    @classmethod
    def _from_son(cls, son, *args, **kwargs):
        return super()._from_son(_money_from_son(cls, son), *args, **kwargs)

    def save(self, *args, expected_version=None, **kwargs):
        """Save; an update only succeeds while the stored version is still the one this copy was read at."""
        now = utcnow()
        expected = self.version
        if self.pk is None or self._created:
            self.created_at = self.created_at or now
            self.version = 0
        else:
            expected = self.version if expected_version is None else expected_version
            kwargs.setdefault("save_condition", {"version": expected})
            self.version = (expected or 0) + 1
        self.updated_at = now
        try:
            return super().save(*args, **kwargs)
        except SaveConditionError as exc:
            self.version = expected
            raise StaleRecord(
                str(_l("Someone else changed this record after you opened it. Reload it and apply your changes again."))
            ) from exc
        except ValidationError:
            self.version = expected  # nothing was written: the copy may be corrected and saved again
            raise


class Counter(Document):
    """The last number handed out in one series ("KH-2026"); only ever incremented."""

    meta = {"collection": "counters"}

    id = StringField(primary_key=True, max_length=64)
    seq = IntField(default=0)


def next_number(prefix: str, year: int) -> str:
    """The next number of a per-year series, e.g. `KH-2026-0001`: one atomic `$inc`, so two clerks saving at
    the same moment get different numbers, and a number is never handed out twice (gaps are possible)."""
    key = f"{prefix}-{year}"
    collection = Counter._get_collection()
    for _attempt in range(3):  # two first numbers of a year may race on the upsert; the loser retries
        try:
            row = collection.find_one_and_update({"_id": key}, {"$inc": {"seq": 1}}, upsert=True,
                                                 return_document=ReturnDocument.AFTER)
            return f"{key}-{row['seq']:04d}"
        except DuplicateKeyError:
            continue
    raise RuntimeError(f"could not number {key}")


class Numbered:
    """Mixin of records people quote by number: the number is given on the first save, after validation, in
    the company's time zone's year (`number_prefix`, stored in `number_field`)."""

    number_prefix = ""
    number_field = "number"

    def save(self, *args, **kwargs):
        if not getattr(self, self.number_field):
            if kwargs.get("validate", True):
                self.validate()  # a record that will not save does not use up a number
                kwargs["validate"] = False
            from portal.settings import local_today  # the company's calendar year, not UTC's

            setattr(self, self.number_field, next_number(self.number_prefix, local_today().year))
        return super().save(*args, **kwargs)


class OwnedDocument(PortalDocument):
    """A business record that belongs to an org unit (data scope of Clerks and DeptHeads)."""

    meta = {"abstract": True}

    owner_unit = ReferenceField("OrgUnit", verbose_name=_l("Owner unit"))


def choices(*pairs: tuple[str, object]) -> tuple[tuple[str, object], ...]:
    """Spell a choice list as (stored value, translatable label) pairs."""
    return tuple(pairs)


def choice_label(choice_list, value) -> str:
    """The translated label of `value` in `choice_list`, or the value itself."""
    for key, label in choice_list:
        if key == value:
            return str(label)
    return "" if value is None else str(value)


PERIOD_KINDS = choices(("month", _l("Month")), ("quarter", _l("Quarter")), ("year", _l("Year")))
PERIOD_FORMATS = {"month": _l("Write the month as 2026-05."), "quarter": _l("Write the quarter as 2026-Q2."),
                  "year": _l("Write the year as 2026.")}


def period_bounds(kind: str | None, period: str | None) -> tuple[dt.date, dt.date] | None:
    """First and last day of a period written `2026-05`, `2026-Q2` or `2026`; None when it does not parse."""
    text = (period or "").strip().upper()
    try:
        year = int(text[:4])
        if not 2000 <= year <= 2100 or (kind == "year" and len(text) != 4):
            return None
        if kind == "year":
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        if kind == "quarter" and len(text) == 7 and text[4:6] == "-Q" and text[6] in "1234":
            first = 3 * (int(text[6]) - 1) + 1
            last = dt.date(year + (first == 10), 1 if first == 10 else first + 3, 1)
            return dt.date(year, first, 1), last - dt.timedelta(days=1)
        if kind == "month" and len(text) == 7 and text[4] == "-" and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
            month = int(text[5:])
            last = dt.date(year + (month == 12), 1 if month == 12 else month + 1, 1)
            return dt.date(year, month, 1), last - dt.timedelta(days=1)
    except ValueError:
        return None
    return None
