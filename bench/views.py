"""The two ceilings every benchmark is compared with: a bare text view and a bare insert."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import BenchRow


def bare_text(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt  # no session, no state but the row: a ceiling, installed only for benchmarks
@require_POST
def bare_insert(request: HttpRequest) -> HttpResponse:
    row = BenchRow.objects.create(label="insert")
    return HttpResponse(str(row.pk), content_type="text/plain", status=201)
