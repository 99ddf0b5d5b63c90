from django.contrib import admin

from .models import AdherenceCheckIn, AiCourse, Intervention, RegimenChange, TreatmentEvent


@admin.register(AiCourse)
class AiCourseAdmin(admin.ModelAdmin[AiCourse]):
    list_display = ["patient", "drug", "start_date", "planned_duration_years"]
    list_filter = ["drug", "patient__clinic"]
    raw_id_fields = ["patient", "recorded_by"]


@admin.register(RegimenChange)
class RegimenChangeAdmin(admin.ModelAdmin[RegimenChange]):
    list_display = ["course", "kind", "date", "new_drug"]
    list_filter = ["kind"]
    raw_id_fields = ["course", "recorded_by"]


@admin.register(TreatmentEvent)
class TreatmentEventAdmin(admin.ModelAdmin[TreatmentEvent]):
    list_display = ["patient", "kind", "start_date", "end_date", "reason"]
    list_filter = ["kind", "reason", "patient__clinic"]
    raw_id_fields = ["patient", "recorded_by"]


@admin.register(Intervention)
class InterventionAdmin(admin.ModelAdmin[Intervention]):
    list_display = ["patient", "category", "measure", "start_date", "end_date"]
    list_filter = ["category", "measure", "patient__clinic"]
    raw_id_fields = ["patient", "recorded_by"]


@admin.register(AdherenceCheckIn)
class AdherenceCheckInAdmin(admin.ModelAdmin[AdherenceCheckIn]):
    list_display = ["patient", "submitted_at", "days_taken_last_7", "stopped", "wants_to_stop"]
    list_filter = ["lapse", "patient__clinic"]
    raw_id_fields = ["patient", "entered_by"]
    readonly_fields = ["submission_token", "lapse", "lapse_evaluated_at", "created_at"]
