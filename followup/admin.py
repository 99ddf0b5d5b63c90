from django.contrib import admin

from .models import Flag, FlagAction, FlagNotification, FlagTrigger


class FlagTriggerInline(admin.TabularInline[FlagTrigger, Flag]):
    model = FlagTrigger
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "source", "source_id", "value", "triggered_at"]


class FlagActionInline(admin.TabularInline[FlagAction, Flag]):
    model = FlagAction
    extra = 0
    can_delete = False
    readonly_fields = ["actor", "action", "note", "created_at"]


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin[Flag]):
    list_display = ["id", "kind", "status", "priority", "opened_at", "claimed_by"]
    list_filter = ["kind", "status", "priority", "patient__clinic"]
    raw_id_fields = ["patient", "claimed_by", "first_action_by", "resolved_by"]
    inlines = [FlagTriggerInline, FlagActionInline]


@admin.register(FlagNotification)
class FlagNotificationAdmin(admin.ModelAdmin[FlagNotification]):
    list_display = [
        "id",
        "flag",
        "recipient",
        "reason",
        "channel",
        "status",
        "created_at",
        "sent_at",
    ]
    list_filter = ["reason"]
    raw_id_fields = ["flag", "recipient"]
