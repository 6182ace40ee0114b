"""A test-only collection with every field type the domain uses, and its view (Admin only)."""

from flask_babel import lazy_gettext as _l
from mongoengine import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    EmbeddedDocument,
    EmbeddedDocumentField,
    FloatField,
    IntField,
    ListField,
    ReferenceField,
    StringField,
)

from models.common import OwnedDocument, choices
from models.org import OrgUnit, owned_by_unit
from portal.compat import FilterStartsWith, PortalMongoInterface
from portal.modelview import PortalMasterDetailView, ScopedModelView

LEVELS = choices(("junior", _l("Junior")), ("senior", _l("Senior")))


class SampleLine(EmbeddedDocument):
    day = DateField(required=True, verbose_name="Day")
    place = StringField(max_length=50, verbose_name="Place")
    amount = DecimalField(precision=2, min_value=0, required=True, verbose_name="Amount")
    kind = StringField(choices=LEVELS, verbose_name="Kind")


class SampleAddress(EmbeddedDocument):
    city = StringField(max_length=40)
    postcode = StringField(max_length=10)


@owned_by_unit
class Sample(OwnedDocument):
    meta = {"collection": "samples", "indexes": ["owner_unit", "name"]}

    name = StringField(required=True, max_length=40, verbose_name="Name")
    level = StringField(required=True, choices=LEVELS, default="junior", verbose_name="Level")
    amount = DecimalField(precision=2, verbose_name="Amount")
    day = DateField(verbose_name="Day")
    at = DateTimeField(verbose_name="At")
    tags = ListField(StringField(max_length=30), verbose_name="Tags")
    address = EmbeddedDocumentField(SampleAddress, verbose_name="Address")
    lines = ListField(EmbeddedDocumentField(SampleLine), verbose_name="Lines")
    unit = ReferenceField(OrgUnit, verbose_name="Unit")
    flag = BooleanField(default=False, verbose_name="Flag")
    count = IntField(min_value=0, verbose_name="Count")
    ratio = FloatField(verbose_name="Ratio")
    email = EmailField(verbose_name="E-mail")
    secret = StringField(verbose_name="Secret")  # never listed, searched or sorted

    def __str__(self):
        return self.name


class SampleView(ScopedModelView):
    datamodel = PortalMongoInterface(Sample)
    class_permission_name = "Sample"
    list_columns = ["name", "level", "amount", "day", "unit", "owner_unit"]
    search_columns = ["name", "level", "amount", "day", "at", "unit", "flag", "count", "tags"]
    order_columns = ["name", "amount", "day"]
    add_columns = edit_columns = ["name", "level", "amount", "day", "at", "tags", "address", "lines", "unit",
                                  "flag", "count", "ratio", "email", "owner_unit"]
    show_columns = [*add_columns]


class SampleUnitsView(PortalMasterDetailView):
    """Master-detail over org units (only those whose code starts with BR-S) and their samples."""

    datamodel = PortalMongoInterface(OrgUnit)
    class_permission_name = "Sample"
    base_filters = [["code", FilterStartsWith, "BR-S"]]
    related_views = [SampleView]
    search_columns = ["code"]
