from __future__ import annotations

from typing import Any


def valid_payload(**overrides: Any) -> dict[str, Any]:
    """A complete, valid API submission (explicit clinical values)."""
    payload: dict[str, Any] = {
        "recall_period": "24h",
        "has_pain_today": True,
        "pain_locations": ["hands_wrists_left", "hands_wrists_right", "knees_left"],
        "worst_location": "hands_wrists_left",
        "worst_pain": 8,
        "least_pain": 3,
        "average_pain": 6,
        "pain_now": 5,
        "treatments": "celecoxib 200 mg daily",
        "relief_percent": 30,
        "interference": {
            "general_activity": 7,
            "mood": 6,
            "walking_ability": 8,
            "normal_work": 7,
            "relations_with_others": 5,
            "sleep": 8,
            "enjoyment_of_life": 7,
        },
    }
    payload.update(overrides)
    return payload
