"""Admin: instruments and responses are read-only (responses are immutable; corrections are
made on the staff pages, which record who and why)."""

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from .models import AdviceItem, AdviceSet, Instrument, Response

_M = TypeVar("_M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyAdmin[Instrument]):
    list_display = ["code", "version", "loaded_at"]


class AdviceItemInline(admin.TabularInline[AdviceItem, AdviceSet]):
    model = AdviceItem
    fields = readonly_fields = ("position", "situation", "text", "source", "limits")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AdviceSet)
class AdviceSetAdmin(ReadOnlyAdmin[AdviceSet]):
    """The advice versions, for review; a new version is loaded with ``manage.py load_advice``."""

    list_display = ["version", "loaded_at"]
    exclude = ["content"]
    inlines = [AdviceItemInline]


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin[Response]):
    list_display = [
        "id",
        "patient",
        "submitted_at",
        "recall_period",
        "pain_severity_score",
        "interference_score",
        "entry_mode",
        "supersedes",
    ]
    list_filter = ["entry_mode", "recall_period", "pain_band", "interference_high"]
    raw_id_fields = ["patient", "entered_by", "supersedes"]
