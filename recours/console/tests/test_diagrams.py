"""Workflow diagrams: the SVG, the workflows page and the case page's picture."""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.dateformat import format as format_date
from django.utils.timezone import localtime

from recours.cases import workflows
from recours.cases.models import Case
from recours.console import diagrams

SVG = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Wait:
    text: str

    def describe(self) -> str:
        return self.text


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    deadline: Wait | None = None
    is_final: bool = False


@dataclass(frozen=True)
class Move:
    name: str
    source: frozenset[str]
    target: str
    by: frozenset[str]
    label: str


@dataclass(frozen=True)
class Flow:
    """A workflow with only what a reader of workflows may rely on."""

    name: str
    label: str
    initial: str
    states: tuple[Step, ...]
    transitions: tuple[Move, ...]

    def state(self, name: str) -> Step:
        return next(state for state in self.states if state.name == name)


def flow(*moves: tuple[str, str], label_of_b: str = "B") -> Flow:
    """States a, b, c and d (final); a move per (source, target) pair."""
    return Flow(
        name="test",
        label="Test flow",
        initial="a",
        states=(
            Step("a", "A", Wait("5 days → b")),
            Step("b", label_of_b),
            Step("c", "C"),
            Step("d", "D", is_final=True),
        ),
        transitions=tuple(
            Move(f"{source}_{target}", frozenset({source}), target,
                 frozenset({"customer"}), f"{source} to {target}")
            for source, target in moves
        ),
    )  # fmt: skip


def parse(svg: str) -> ET.Element:
    # Our own output, not untrusted input: the point is that it parses.
    return ET.fromstring(svg)  # noqa: S314


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [
        group
        for group in root.iter(f"{SVG}g")
        if kind in group.get("class", "").split()
    ]


def box_of(root: ET.Element, state: str) -> ET.Element:
    (group,) = [g for g in groups(root, "state") if g.get("data-state") == state]
    return group


def shown_text(group: ET.Element) -> str:
    return " ".join(text.text or "" for text in group.iter(f"{SVG}text"))


def top_of(root: ET.Element, state: str) -> float:
    return float(box_of(root, state).find(f"{SVG}rect").get("y"))


@pytest.mark.parametrize("workflow", workflows.ALL, ids=lambda w: w.name)
def test_it_draws_every_state_with_its_label(workflow):
    # when
    root = parse(diagrams.workflow_svg(workflow))

    # then
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == f"Workflow diagram: {workflow.label}"
    drawn = {group.get("data-state"): group for group in groups(root, "state")}
    assert list(drawn) == [state.name for state in workflow.states]
    for state in workflow.states:
        label = diagrams.state_label(workflow, state.name)
        assert drawn[state.name].find(f"{SVG}title").text.startswith(label)
        assert label in shown_text(drawn[state.name]).replace("- ", "-")
    description = root.find(f"{SVG}desc").text
    for row in diagrams.transition_rows(workflow):
        assert row["label"] in description


@pytest.mark.parametrize("workflow", workflows.ALL, ids=lambda w: w.name)
def test_it_draws_one_arrow_per_move_naming_its_transitions(workflow):
    # given: every (source, target) pair, with the transitions that make it
    expected: dict[tuple[str, str], set[str]] = {}
    for transition in workflow.transitions:
        for source in transition.source:
            pair = (source, transition.target)
            expected.setdefault(pair, set()).add(transition.name)

    # when
    root = parse(diagrams.workflow_svg(workflow))

    # then
    arrows = groups(root, "move")
    drawn = {
        (arrow.get("data-source"), arrow.get("data-target")): set(
            arrow.get("data-transitions").split()
        )
        for arrow in arrows
    }
    assert len(arrows) == len(expected)
    assert drawn == expected
    for arrow in arrows:
        assert len(arrow.findall(f"{SVG}path")) == 2  # the line and its head


def test_it_escapes_every_text():
    # given
    workflow = flow(("a", "b"), label_of_b='Refund <&> "paid"')

    # when
    svg = diagrams.workflow_svg(workflow)

    # then: it parses, and the text reads as written
    assert "<&>" not in svg
    root = parse(svg)
    assert shown_text(box_of(root, "b")) == 'Refund <&> "paid"'
    assert 'Refund <&> "paid"' in root.find(f"{SVG}desc").text


def test_it_highlights_exactly_the_current_state_and_its_moves():
    # given
    workflow = flow(("a", "b"), ("b", "c"), ("b", "d"), ("c", "d"))

    # when
    root = parse(diagrams.workflow_svg(workflow, current="b"))

    # then
    current = groups(root, "current")
    assert [group.get("data-state") for group in current] == ["b"]
    assert shown_text(current[0]).startswith("Current state")
    assert float(current[0].find(f"{SVG}rect").get("stroke-width")) > 2
    available = {(g.get("data-source"), g.get("data-target")) for g in groups(root, "available")}  # fmt: skip
    assert available == {("b", "c"), ("b", "d")}
    assert "Current state: B." in root.find(f"{SVG}desc").text


def test_it_highlights_nothing_without_a_current_state():
    # when
    root = parse(diagrams.workflow_svg(flow(("a", "b"))))

    # then
    assert groups(root, "current") == []
    assert groups(root, "available") == []
    assert "Current state" not in ET.tostring(root, encoding="unicode")


def test_it_puts_each_state_on_the_layer_of_its_longest_path():
    # given: a reaches c directly and through b; d comes after c
    workflow = flow(("a", "c"), ("a", "b"), ("b", "c"), ("c", "d"))

    # when
    root = parse(diagrams.workflow_svg(workflow))

    # then
    tops = [top_of(root, name) for name in "abcd"]
    assert tops == sorted(tops)
    assert len(set(tops)) == 4


def test_it_draws_a_move_back_dashed_and_keeps_the_layers():
    # given: c returns to a
    workflow = flow(("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"))

    # when
    root = parse(diagrams.workflow_svg(workflow))

    # then
    (back,) = groups(root, "back")
    assert (back.get("data-source"), back.get("data-target")) == ("c", "a")
    assert back.find(f"{SVG}path").get("stroke-dasharray")
    assert top_of(root, "a") < top_of(root, "b") < top_of(root, "c")


def test_it_draws_a_move_that_stays_in_its_state_as_a_loop():
    # given
    workflow = flow(("a", "b"), ("b", "b"), ("b", "d"))

    # when
    root = parse(diagrams.workflow_svg(workflow))

    # then
    loops = [g for g in groups(root, "move") if g.get("data-source") == "b" == g.get("data-target")]  # fmt: skip
    assert len(loops) == 1


@pytest.mark.parametrize("workflow", workflows.ALL, ids=lambda w: w.name)
def test_it_sizes_the_view_box_to_its_content(workflow):
    # when
    root = parse(diagrams.workflow_svg(workflow, current=workflow.initial))

    # then
    _x, _y, width, height = (float(part) for part in root.get("viewBox").split())
    assert float(root.get("width")) == width
    for rect in root.iter(f"{SVG}rect"):
        assert float(rect.get("x")) >= 0
        assert float(rect.get("x")) + float(rect.get("width")) <= width
        assert float(rect.get("y")) + float(rect.get("height")) <= height


def test_it_shows_the_final_state_with_a_double_border():
    # when
    root = parse(diagrams.workflow_svg(flow(("a", "d"))))

    # then
    assert len(box_of(root, "d").findall(f"{SVG}rect")) == 2
    assert len(box_of(root, "a").findall(f"{SVG}rect")) == 1
    assert "final" in box_of(root, "d").get("class").split()


# The workflows page


def test_it_asks_for_a_login_first(client):
    # when
    response = client.get(reverse("console:workflows"))

    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_it_draws_every_workflow_with_its_transitions_table(alpha_client):
    # when
    response = alpha_client.get(reverse("console:workflows"))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    for workflow in workflows.ALL:
        assert f'id="workflow-{workflow.name}"' in html
        assert f'id="diagram-{workflow.name}-title"' in html
        assert str(workflow.label) in html
        for transition in workflow.transitions:
            assert f'<tr data-transition="{transition.name}">' in html
    rows = html.count("<tr data-transition=")
    assert rows == sum(len(workflow.transitions) for workflow in workflows.ALL)
    assert 'href="/console/workflows/" aria-current="page"' in html


# The case page


def test_it_shows_where_the_case_stands_and_its_next_deadline(agent_client, case_a):
    # when
    response = agent_client.get(reverse("console:case", args=[case_a.reference]))

    # then
    html = response.content.decode()
    assert 'id="case-workflow"' in html
    assert 'data-state="received"' in html
    assert html.count('class="state current"') == 1
    assert "Next deadline:" in html
    assert f'datetime="{format_date(localtime(case_a.deadline_at), "c")}"' in html
    assert 'id="case-reminder"' not in html


def test_it_counts_down_to_the_states_deadline_and_shows_the_reminder_before_it(
    agent_client, case_a
):
    # given: the worker wakes for a reminder a day before the state's deadline
    reminder_at = case_a.deadline_at - timedelta(days=1)
    Case.objects.filter(pk=case_a.pk).update(
        due_at=reminder_at, due_action=workflows.REMIND
    )

    # when
    response = agent_client.get(reverse("console:case", args=[case_a.reference]))

    # then
    html = response.content.decode()
    deadline = html[html.index('id="case-next-deadline"') :]
    deadline = deadline[: deadline.index("</p>")]
    assert f'datetime="{format_date(localtime(case_a.deadline_at), "c")}"' in deadline
    assert "When it passes, the case escalates." in deadline
    assert 'id="case-reminder"' in deadline
    assert f'datetime="{format_date(localtime(reminder_at), "c")}"' in deadline


def test_it_says_when_no_deadline_is_running(agent_client, case_a):
    # given: a closed case
    Case.objects.filter(pk=case_a.pk).update(
        status="closed", deadline_at=None, due_at=None, due_action=""
    )

    # when
    response = agent_client.get(reverse("console:case", args=[case_a.reference]))

    # then
    html = response.content.decode()
    assert "No deadline is running." in html
    assert html.count('class="state final current"') == 1
