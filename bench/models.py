from django.db import models


class BenchRow(models.Model):
    """One row per request of the bare insert view: the insert ceiling."""

    label = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.label} {self.pk}"
