"""Queue details: what "Open cases" means, the tabs a merchant sees, dates and numbers."""

import pytest
from django.urls import reverse
from django.utils import translation

from recours.accounts.models import Membership
from recours.accounts.phones import for_display
from recours.cases.access import staff_actor
from recours.cases.engine import change_status
from recours.testing import file_case


def queue(client, **params):
    response = client.get(reverse("console:queue"), params)
    assert response.status_code == 200
    return response


def listed(response) -> list[str]:
    return [row["case"].reference for row in response.context["rows"]]


def tab_keys(response) -> list[str]:
    return [key for key, _label, _count in response.context["tabs"]]


def test_it_leaves_resolved_cases_out_of_the_open_cases(
    agent_client, agent, case_a, kiosk
):
    # given
    staff = Membership.objects.get(user=agent)
    resolved = file_case(terminal_code=kiosk.code)
    change_status(staff, staff_actor(staff), resolved, "resolved")

    # when
    open_cases = queue(agent_client)
    resolved_cases = queue(agent_client, status="resolved")

    # then
    assert listed(open_cases) == [case_a.reference]
    assert listed(resolved_cases) == [resolved.reference]


def test_it_shows_merchant_staff_only_the_all_mine_and_to_answer_tabs(
    alpha_client, case_a
):
    # when
    response = queue(alpha_client)

    # then
    assert tab_keys(response) == ["all", "mine", "to_answer"]
    assert 'id="tab-mediator"' not in response.content.decode()
    assert 'id="tab-technician"' not in response.content.decode()


def test_it_ignores_a_team_tab_asked_by_merchant_staff(alpha_client, case_a):
    # when
    response = queue(alpha_client, team="technician")

    # then: the whole queue, as the All tab
    assert response.context["tab"] == "all"
    assert listed(response) == [case_a.reference]


def test_it_keeps_the_team_tabs_for_platform_staff(agent_client, case_a):
    # when
    response = queue(agent_client)

    # then
    assert tab_keys(response) == [
        "all", "mine", "agent", "technician", "merchant", "mediator"
    ]  # fmt: skip


def test_it_shows_an_sms_contact_in_national_format(agent_client, case_b):
    # when
    response = agent_client.get(reverse("console:case", args=[case_b.reference]))

    # then
    assert "SMS: 06 11 22 33 44" in response.content.decode()


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+33611223344", "06 11 22 33 44"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+33 6 11", "+33 6 11"),  # not a number: as given
        ("client@example.org", "client@example.org"),
    ],
)
def test_it_writes_a_number_as_people_of_the_region_do(stored, shown):
    assert for_display(stored, "FR") == shown


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "2 Mar 2026, 10:00"), ("fr", "2 mars 2026, 10:00")],
)
def test_it_writes_dates_day_first_on_a_24_hour_clock(
    agent_client, case_a, language, expected
):
    # when: 09:00 UTC is 10:00 in Paris
    with translation.override(language):
        response = agent_client.get(
            reverse("console:case", args=[case_a.reference]),
            headers={"accept-language": language},
        )

    # then
    assert expected in response.content.decode()


def test_it_puts_a_no_break_space_before_a_colon_in_french(agent_client, case_b):
    # when
    with translation.override("fr"):
        response = agent_client.get(
            reverse("console:case", args=[case_b.reference]),
            headers={"accept-language": "fr"},
        )

    # then
    assert "SMS\u00a0: 06 11 22 33 44" in response.content.decode()
