"""Duty rules, pure: a unit responding to an alert is never left off duty."""

from __future__ import annotations

import uuid
from collections.abc import Sequence


class StillResponding(Exception):
    """The officer is the last of their unit on duty and the unit is responding to these alerts."""

    def __init__(self, alert_ids: Sequence[uuid.UUID]) -> None:
        super().__init__(f"the unit is responding to {len(alert_ids)} alert(s)")
        self.alert_ids = list(alert_ids)


def alerts_to_hand_back(
    responding: Sequence[uuid.UUID], *, colleagues_on_duty: bool, hand_back: bool
) -> list[uuid.UUID]:
    """The alerts an officer going off duty must hand back first. Another officer of the unit still on duty keeps
    them (the unit stays on duty); otherwise leaving needs an explicit hand-back, or raises ``StillResponding``."""
    if colleagues_on_duty or not responding:
        return []
    if not hand_back:
        raise StillResponding(responding)
    return list(responding)
