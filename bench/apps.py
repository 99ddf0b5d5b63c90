from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Ceiling views for ``make bench``; installed only when ``AIMSS_BENCH=true``."""

    name = "bench"
