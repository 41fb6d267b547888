"""The queue: team tabs, filters, search, order, pagination, isolation."""

from datetime import timedelta

import pytest
from django.urls import reverse

from recours.accounts.models import Membership
from recours.cases.access import staff_actor
from recours.cases.conversation import assign
from recours.cases.engine import change_status
from recours.cases.models import Case
from recours.console.views import QUEUE_PAGE_SIZE
from recours.testing import NOW, file_case


def queue(client, **params):
    return client.get(reverse("console:queue"), params)


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [row["case"].reference for row in response.context["rows"]]


def tab_count(response, key: str) -> int:
    return {tab: count for tab, _label, count in response.context["tabs"]}[key]


def act(user, action, case, *args):
    membership = Membership.objects.select_related("user").get(user=user)
    return action(membership, staff_actor(membership), case, *args)


def test_it_shows_merchant_staff_only_their_organizations_cases(
    alpha_client, case_a, case_b
):
    # when
    response = queue(alpha_client, status="any")

    # then
    assert listed(response) == [case_a.reference]
    assert case_b.reference not in response.content.decode()
    assert tab_count(response, "all") == 1


def test_it_never_finds_another_organizations_case_by_search(
    alpha_client, case_a, case_b
):
    # when
    response = queue(alpha_client, q=case_b.reference, status="any")

    # then: the search box echoes what was typed, nothing more
    html = response.content.decode()
    assert listed(response) == []
    assert f'id="case-{case_b.reference}"' not in html
    assert reverse("console:case", args=[case_b.reference]) not in html


def test_it_offers_merchant_staff_only_their_kiosks(alpha_client, kiosk, kiosk_b, db):
    # when
    html = queue(alpha_client).content.decode()

    # then
    assert kiosk.code in html
    assert kiosk_b.code not in html


def test_it_shows_platform_staff_every_case(agent_client, case_a, case_b):
    # when
    response = queue(agent_client)

    # then
    assert sorted(listed(response)) == sorted([case_a.reference, case_b.reference])


def test_it_shows_a_row_with_the_queue_columns(agent_client, case_a, agent):
    # given
    act(agent, assign, case_a, agent)

    # when
    response = queue(agent_client)

    # then
    html = response.content.decode()
    row = html[html.index(f'id="case-{case_a.reference}"') :]
    row = row[: row.index("</tr>")]
    link = reverse("console:case", args=[case_a.reference])
    assert f'href="{link}"' in row
    assert "The payment failed" in row
    assert "Gare du Nord" in row
    assert "Received" in row
    assert "High" in row
    assert "agent" in row
    assert "Unmatched" not in row


def test_it_flags_unmatched_cases(agent_client, frozen, platform):
    # given
    case = file_case(customer_number="NOPE-1")

    # when
    html = queue(agent_client).content.decode()

    # then
    row = html[html.index(f'id="case-{case.reference}"') :]
    assert "Unmatched" in row[: row.index("</tr>")]


def test_it_splits_cases_into_team_tabs(agent_client, frozen, platform, kiosk):
    # given: a payment incident goes to advisors, a missing item to technicians
    payment = file_case(terminal_code=kiosk.code)
    missing = file_case(problem="item_missing", customer_number="C-1",
                        item_number="MAP-0042", happened_at=NOW)  # fmt: skip

    # when
    advisors = queue(agent_client, team="agent")
    technicians = queue(agent_client, team="technician")
    everything = queue(agent_client, team="all")

    # then
    assert listed(advisors) == [payment.reference]
    assert listed(technicians) == [missing.reference]
    assert sorted(listed(everything)) == sorted([payment.reference, missing.reference])
    assert tab_count(everything, "agent") == 1
    assert tab_count(everything, "technician") == 1
    assert tab_count(everything, "merchant") == 0
    assert tab_count(everything, "all") == 2


def test_it_shows_my_cases_in_the_mine_tab(agent_client, agent, technician, frozen,
                                           platform, kiosk):  # fmt: skip
    # given
    mine = file_case(terminal_code=kiosk.code)
    theirs = file_case(terminal_code=kiosk.code)
    file_case(terminal_code=kiosk.code)
    act(agent, assign, mine, agent)
    act(agent, assign, theirs, technician)

    # when
    response = queue(agent_client, team="mine")

    # then
    assert listed(response) == [mine.reference]
    assert tab_count(response, "mine") == 1


def test_tab_links_keep_the_filters(agent_client, case_a):
    # when
    response = queue(agent_client, kind="payment_incident", q="gare")

    # then
    html = response.content.decode()
    assert 'href="?kind=payment_incident&amp;q=gare&amp;team=technician"' in html


def test_it_hides_closed_cases_unless_asked(agent_client, agent, case_a, kiosk):
    # given
    closed = file_case(terminal_code=kiosk.code)
    act(agent, change_status, closed, "resolved")
    act(agent, change_status, closed, "closed")

    # when
    open_only = queue(agent_client)
    every = queue(agent_client, status="any")
    closed_only = queue(agent_client, status="closed")

    # then
    assert listed(open_only) == [case_a.reference]
    assert sorted(listed(every)) == sorted([case_a.reference, closed.reference])
    assert listed(closed_only) == [closed.reference]


def test_it_filters_by_status(agent_client, agent, case_a, kiosk):
    # given
    triaged = file_case(terminal_code=kiosk.code)
    act(agent, change_status, triaged, "triaged")

    # when
    response = queue(agent_client, status="triaged")

    # then
    assert listed(response) == [triaged.reference]


def test_it_filters_by_kind(agent_client, case_a, frozen, platform):
    # given
    question = file_case(problem="question", customer_number="C-2")

    # when
    response = queue(agent_client, kind="question")

    # then
    assert listed(response) == [question.reference]


def test_it_filters_by_kiosk(agent_client, case_a, case_b, kiosk_b):
    # when
    response = queue(agent_client, terminal=kiosk_b.code)

    # then
    assert listed(response) == [case_b.reference]


@pytest.mark.parametrize(
    "age,expected",
    [
        ("lt24h", ["fresh"]),
        ("1to3d", ["two_days"]),
        ("gt3d", ["five_days"]),
        ("overdue", ["five_days", "two_days"]),
        ("", ["five_days", "two_days", "fresh"]),
    ],
)
def test_it_filters_by_age(agent_client, frozen, platform, kiosk, age, expected):
    # given: high-priority incidents, due 8 hours after they arrive
    frozen.move_to(NOW - timedelta(days=5))
    cases = {"five_days": file_case(terminal_code=kiosk.code)}
    frozen.move_to(NOW - timedelta(days=2))
    cases["two_days"] = file_case(terminal_code=kiosk.code)
    frozen.move_to(NOW - timedelta(hours=1))
    cases["fresh"] = file_case(terminal_code=kiosk.code)
    frozen.move_to(NOW)

    # when
    response = queue(agent_client, age=age)

    # then
    assert listed(response) == [cases[name].reference for name in expected]


def test_it_marks_overdue_cases(agent_client, frozen, platform, kiosk):
    # given
    case = file_case(terminal_code=kiosk.code)
    frozen.shift(timedelta(hours=9))

    # when
    html = queue(agent_client).content.decode()

    # then
    row = html[html.index(f'id="case-{case.reference}"') :]
    assert "Overdue" in row[: row.index("</tr>")]


@pytest.mark.parametrize(
    "typed",
    ["C-10001", "c-100", "06 12 34 56 78", "camille", "client@example"],
)
def test_it_searches_customer_and_contact(agent_client, case_a, case_b, typed):
    # when
    response = queue(agent_client, q=typed)

    # then
    assert listed(response) == [case_a.reference]


def test_it_finds_a_reference_however_typed(agent_client, case_a, case_b):
    # given
    typed = case_b.reference.lower().replace("-", " ")

    # when
    response = queue(agent_client, q=typed)

    # then
    assert listed(response) == [case_b.reference]


def test_it_finds_an_sms_contact_by_its_national_number(agent_client, case_a, case_b):
    # when
    response = queue(agent_client, q="0611223344")

    # then
    assert listed(response) == [case_b.reference]


def test_it_ignores_an_invalid_filter_value(agent_client, case_a):
    # when
    response = queue(agent_client, status="nonsense", age="forever", kind="x")

    # then
    assert listed(response) == [case_a.reference]


def test_it_lists_the_nearest_deadline_first(agent_client, frozen, platform, kiosk):
    # given: a low-priority suggestion filed first is due later (72 h)
    later = file_case(problem="suggestion", terminal_code=kiosk.code)
    frozen.shift(timedelta(hours=1))
    sooner = file_case(terminal_code=kiosk.code)  # high priority: 8 h

    # when
    response = queue(agent_client)

    # then
    assert listed(response) == [sooner.reference, later.reference]


@pytest.fixture
def many_cases(frozen, platform, kiosk, agent, technician):
    cases = []
    for number in range(QUEUE_PAGE_SIZE + 5):
        frozen.shift(timedelta(minutes=1))
        case = file_case(terminal_code=kiosk.code, customer_number=f"N-{number}")
        if number % 2:
            act(agent, assign, case, agent if number % 4 == 1 else technician)
        cases.append(case)
    return cases


def test_it_shows_25_cases_a_page(agent_client, many_cases):
    # when
    first = queue(agent_client)
    second = queue(agent_client, page=2)

    # then
    assert listed(first) == [case.reference for case in many_cases[:QUEUE_PAGE_SIZE]]
    assert listed(second) == [case.reference for case in many_cases[QUEUE_PAGE_SIZE:]]


def test_page_links_keep_the_filters(agent_client, many_cases):
    # when
    response = queue(agent_client, kind="payment_incident", team="agent")

    # then
    html = response.content.decode()
    assert 'href="?kind=payment_incident&amp;team=agent&amp;page=2"' in html
    assert listed(queue(agent_client, kind="payment_incident", page=2))


def test_it_reads_the_queue_in_a_fixed_number_of_queries(
    agent_client, many_cases, django_assert_max_num_queries
):
    # given: session, user, membership, kiosks, counts, page count, page rows
    assert Case.objects.exclude(assignee=None).exists()

    # when / then
    with django_assert_max_num_queries(7):
        response = queue(agent_client)
        assert len(listed(response)) == QUEUE_PAGE_SIZE
