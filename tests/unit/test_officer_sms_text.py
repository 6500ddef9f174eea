"""What an officer's offer SMS says, and how their answer is read (pure: no database)."""

from __future__ import annotations

import pytest

from siaga.alerts import domain
from siaga.dispatch.offer_sms import distance_text, offer_text
from siaga.sms.officers import Reply


def test_the_offer_sms_says_what_where_how_far_and_how_to_accept_in_the_officers_language() -> None:
    text = offer_text(language="id", code="4821", category="kecelakaan", place="Coblong", distance_m=604.0)
    assert text == "SIAGA 4821: kecelakaan di Coblong 600 m. Balas 1 4821 untuk terima"
    english = offer_text(language="en", code="4821", category="kecelakaan", place="Coblong", distance_m=1234.0)
    assert english == "SIAGA 4821: accident in Coblong, 1.2 km away. Reply 1 4821 to accept"
    nowhere = offer_text(language="id", code="1000", category="bencana_alam", place=None, distance_m=2500.0)
    assert nowhere == "SIAGA 1000: bencana alam 2,5 km. Balas 1 1000 untuk terima"
    assert max(len(text), len(english)) <= 160  # one SMS each


@pytest.mark.parametrize(
    ("metres", "language", "shown"), [(3.0, "id", "10 m"), (995.0, "id", "1,0 km"), (999.0, "en", "1.0 km")]
)
def test_distances_are_rounded_as_a_person_says_them(metres: float, language: str, shown: str) -> None:
    assert distance_text(metres, language) == shown


@pytest.mark.parametrize(
    ("text", "action", "code", "report"),
    [
        ("1 4821", 1, "4821", ""),
        (" 1-4821 ", 1, "4821", ""),
        ("14821", 1, "4821", ""),
        ("2.4821", 2, "4821", ""),
        ("3 4821\n", 3, "4821", ""),
        ("4 4821 korban dibawa ke RS Borromeus", 4, "4821", "korban dibawa ke RS Borromeus"),
    ],
)
def test_an_officers_answer_is_read_whatever_the_phone_put_between_its_parts(
    text: str, action: int, code: str, report: str
) -> None:
    assert Reply.read(text) == Reply(action=action, code=code, report=report)


@pytest.mark.parametrize("text", ["TOLONG di pasar", "5 4821", "1 482", "1 48211", "SOS 1 4821", "", "1"])
def test_what_is_not_an_officers_answer_is_left_to_the_other_handlers(text: str) -> None:
    assert Reply.read(text) is None


def test_each_status_answer_is_the_officer_apps_command() -> None:
    assert Reply(2, "4821", "").command() == domain.MarkEnRoute()
    assert Reply(3, "4821", "").command() == domain.MarkOnScene()
    assert Reply(4, "4821", "aman").command() == domain.Resolve(domain.Outcome.GENUINE, "aman")
