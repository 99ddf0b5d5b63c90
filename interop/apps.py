from django.apps import AppConfig


class InteropConfig(AppConfig):
    """Interoperability: API tokens, the FHIR R4 export and import, CSV exports and the API
    documentation. It reads every other app; nothing imports it back (settings and the root
    URLconf name it by string)."""

    name = "interop"
    verbose_name = "Interoperability: API tokens, FHIR and exports"
