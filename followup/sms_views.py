"""Stopping texts: the SMS provider's inbound webhook (a reply with a stop keyword) and the
stop link every text carries. Either switches her to e-mail and is recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from patients.models import OptOutVia, Patient
from patients.services import sms_opt_out, sms_opt_out_number

from .notify import recipient_of_stop_token

logger = logging.getLogger(__name__)

# Twilio's standard opt-out keywords, and the Chinese carriers' convention (TD, 退订).
STOP_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE", "TD", "退订"}
)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def twilio_signature(url: str, params: dict[str, list[str]], token: str) -> str:
    """Twilio's request signature: HMAC-SHA1 with the auth token over the URL followed by
    each parameter's name and value, sorted by name, base64-encoded."""
    payload = url + "".join(
        name + value for name in sorted(params) for value in sorted(set(params[name]))
    )
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def stop_keyword(body: str) -> str:
    """The stop keyword a reply is, or "" (the whole reply, case and punctuation aside)."""
    word = re.sub(r"[\s.!。！]+", "", body).upper()
    return word if word in STOP_KEYWORDS else ""


@csrf_exempt  # the provider posts here; its signature stands in for the CSRF token
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """A reply to one of our texts (``POST /sms/inbound/``), signed by Twilio. A stop keyword
    stops texts to that number; anything else is ignored. The reply's text is never logged:
    a patient may write about her health."""
    token = settings.TWILIO_AUTH_TOKEN
    given = request.headers.get("X-Twilio-Signature", "")
    params = {name: request.POST.getlist(name) for name in request.POST}
    expected = twilio_signature(settings.TWILIO_INBOUND_URL, params, token) if token else ""
    if not (token and given and hmac.compare_digest(expected, given)):
        logger.warning("inbound SMS refused: missing or wrong signature")
        return HttpResponseForbidden("Bad signature.")
    keyword = stop_keyword(request.POST.get("Body", ""))
    if keyword:
        stopped = sms_opt_out_number(phone=request.POST.get("From", ""), keyword=keyword)
        logger.info("inbound SMS stop keyword: texts stopped for %s people", stopped)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@require_http_methods(["GET", "POST"])
def sms_stop(request: HttpRequest, token: str) -> HttpResponse:
    """The stop link of a text: a page that asks (a link preview must not stop anything),
    then stops texts to her and says e-mails follow instead."""
    recipient = recipient_of_stop_token(token)
    if recipient is None:
        return render(request, "followup/sms_stop.html", {"invalid": True}, status=404)
    if request.method == "POST":
        if isinstance(recipient, Patient):
            sms_opt_out(patient=recipient, via=OptOutVia.LINK)
        else:
            sms_opt_out(user=recipient, via=OptOutVia.LINK)
        return render(request, "followup/sms_stop.html", {"stopped": True})
    return render(request, "followup/sms_stop.html", {})
