"""Workflow diagrams: each workflow drawn as an SVG on the server (issue 13).

No JavaScript, no CDN and no graphviz: a small layered layout in the manner
of Sugiyama's, enough for workflows of a dozen states.

1. Back moves: a depth-first walk from the initial state marks every move
   that returns to a state still on the walk's path; the others form a
   graph without cycles.
2. Layers: a state's layer is its longest path from the initial state over
   that graph, so every forward move points down.
3. Waypoints: a move that spans several layers gets a narrow waypoint in
   each layer it crosses, so that it is routed between the boxes.
4. Order: the boxes of each layer are sorted by the mean position of their
   neighbours, sweeping down and up; the order with fewest crossings wins.
5. Places: each layer is pulled toward its neighbours' centres while it
   keeps its order and gaps (an isotonic regression).
6. Drawing: a box per state with its label and deadline, a curve per move
   between ports spread along the boxes' edges; back moves dashed.

Only the attributes that cases/workflows.py promises to readers are read:
workflow name, label, initial, states (name, label, is_final, deadline
with describe()) and transitions (name, source, target, label, by).
"""

import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recours.accounts.models import Role
from recours.cases import workflows
from recours.cases.models import Case
from recours.console import labels

# Sizes in SVG user units (CSS pixels at scale 1).
MARGIN = 16
START_SPACE = 34
BOX_WIDTH = 176
BOX_PADDING = 10
BOX_GAP = 28
WAYPOINT_WIDTH = 14
LAYER_GAP = 60
LOOP_WIDTH = 30
ARROW_LENGTH = 9
ARROW_HALF_WIDTH = 4.5
PORT_SHARE = 0.8
LABEL_SIZE = 14
LABEL_LINE = 18
LABEL_LINES_MAX = 3
SMALL_SIZE = 12
SMALL_LINE = 16
SMALL_LINES_MAX = 2
# A system font's mean character width, in ems, bold and regular: text is
# wrapped on the server, which cannot measure it, so these err wide.
BOLD_CHAR_EM = 0.64
CHAR_EM = 0.58
ORDER_SWEEPS = 8
PLACE_ROUNDS = 12

INK = "#1b1f24"
MUTED = "#57606a"
FAINT = "#8c959f"
ACCENT = "#0b5fff"
CARD = "#ffffff"
FINAL_FILL = "#f6f8fa"
CURRENT_FILL = "#eef4ff"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

PARTY_LABELS = {
    "customer": gettext_lazy("Customer"),
    "system": gettext_lazy("Recours (automatic)"),
}


@dataclass
class Move:
    """One arrow: every transition from `source` to `target`."""

    source: str
    target: str
    transitions: list[Any]
    back: bool = False
    # The nodes it passes, from the upper end to the lower one.
    chain: list[str] = field(default_factory=list)


@dataclass
class Node:
    """A state's box, or a waypoint of a move that spans several layers."""

    key: str
    layer: int
    span: float
    state: Any = None
    x: float = 0.0  # the centre


@dataclass
class Layout:
    nodes: dict[str, Node]
    layers: list[list[str]]
    moves: list[Move]
    loops: list[Move]
    box_height: float


# Words


def state_label(workflow: Any, name: str) -> str:
    return str(labels.workflow_status_label(workflow, name))


def deadline_text(state: Any) -> str:
    return "" if state.deadline is None else str(state.deadline.describe())


def who_label(by: Iterable[str]) -> str:
    """The parties, then the roles, in the order Role declares them."""
    names = set(by)
    parties = [str(label) for key, label in PARTY_LABELS.items() if key in names]
    roles = [str(label) for value, label in Role.choices if value in names]
    return ", ".join(parties + roles)


def state_rows(workflow: Any) -> list[dict[str, Any]]:
    """The states as the table under each diagram lists them."""
    return [
        {
            "name": state.name,
            "label": state_label(workflow, state.name),
            "deadline": deadline_text(state),
            "is_initial": state.name == workflow.initial,
            "is_final": state.is_final,
        }
        for state in workflow.states
    ]


def transition_rows(workflow: Any) -> list[dict[str, str]]:
    """The transitions as the table under each diagram lists them."""
    order = [state.name for state in workflow.states]
    return [
        {
            "name": transition.name,
            "sources": ", ".join(
                state_label(workflow, name)
                for name in sorted(transition.source, key=order.index)
            ),
            "target": state_label(workflow, transition.target),
            "who": who_label(transition.by),
            "label": str(transition.label),
        }
        for transition in workflow.transitions
    ]


def description(workflow: Any, current: str | None) -> str:
    """The diagram in words, for screen readers (the <desc>)."""
    states = []
    for state in workflow.states:
        notes = [_("start")] if state.name == workflow.initial else []
        if deadline := deadline_text(state):
            notes.append(deadline)
        if state.is_final:
            notes.append(_("final"))
        text = state_label(workflow, state.name)
        states.append(f"{text} ({'; '.join(notes)})" if notes else text)
    moves = [
        _("%(label)s: from %(sources)s to %(target)s, by %(who)s")
        % {key: row[key] for key in ("label", "sources", "target", "who")}
        for row in transition_rows(workflow)
    ]
    text = _("States: %(states)s. Transitions: %(moves)s.") % {
        "states": ", ".join(states),
        "moves": "; ".join(moves),
    }
    if current is not None:
        text += " " + _("Current state: %(state)s.") % {
            "state": state_label(workflow, current)
        }
    return text


def wrap(text: str, size: int, em: float, lines_max: int) -> list[str]:
    per_line = max(1, int((BOX_WIDTH - 2 * BOX_PADDING) / (size * em)))
    lines = textwrap.wrap(text, per_line) or [""]
    if len(lines) > lines_max:
        lines = lines[:lines_max]
        lines[-1] = lines[-1][: per_line - 1].rstrip() + "…"
    return lines


# 1. Moves and back moves


def moves_of(workflow: Any) -> tuple[list[Move], list[Move]]:
    """(moves between two states, moves that stay in their state), one per
    pair of states whatever the number of transitions between them."""
    order = [state.name for state in workflow.states]
    by_pair: dict[tuple[str, str], Move] = {}
    for transition in workflow.transitions:
        for source in sorted(transition.source, key=order.index):
            pair = (source, transition.target)
            if pair not in by_pair:
                by_pair[pair] = Move(source, transition.target, [])
            by_pair[pair].transitions.append(transition)
    moves = [move for move in by_pair.values() if move.source != move.target]
    loops = [move for move in by_pair.values() if move.source == move.target]
    return moves, loops


def mark_back_moves(roots: list[str], moves: list[Move]) -> None:
    successors: dict[str, list[Move]] = defaultdict(list)
    for move in moves:
        successors[move.source].append(move)
    on_path: set[str] = set()
    seen: set[str] = set()

    def visit(name: str) -> None:
        seen.add(name)
        on_path.add(name)
        for move in successors[name]:
            if move.target in on_path:
                move.back = True
            elif move.target not in seen:
                visit(move.target)
        on_path.discard(name)

    for root in roots:
        if root not in seen:
            visit(root)


# 2. Layers


def ranks(names: list[str], moves: list[Move]) -> dict[str, int]:
    """Each state's longest path over the forward moves."""
    rank = dict.fromkeys(names, 0)
    forward = [move for move in moves if not move.back]
    # As many relaxations as states: enough for any path without a cycle.
    for _round in names:
        for move in forward:
            rank[move.target] = max(rank[move.target], rank[move.source] + 1)
    return rank


# 3. Waypoints


def nodes_of(
    workflow: Any, moves: list[Move], loops: list[Move], rank: dict[str, int]
) -> dict[str, Node]:
    looped = {move.source for move in loops}
    nodes = {
        state.name: Node(
            state.name,
            rank[state.name],
            BOX_WIDTH + (2 * LOOP_WIDTH if state.name in looped else 0),
            state,
        )
        for state in workflow.states
    }
    for index, move in enumerate(moves):
        upper, lower = (
            (move.target, move.source) if move.back else (move.source, move.target)
        )
        assert rank[upper] < rank[lower]
        move.chain = [upper]
        for layer in range(rank[upper] + 1, rank[lower]):
            key = f"{index}:{layer}"
            nodes[key] = Node(key, layer, WAYPOINT_WIDTH)
            move.chain.append(key)
        move.chain.append(lower)
    return nodes


# 4. Order


def links_of(moves: list[Move]) -> list[tuple[str, str]]:
    """Every (upper, lower) pair of nodes a move joins."""
    return [(upper, lower) for move in moves for upper, lower in pairwise(move.chain)]


def crossings(layers: list[list[str]], links: list[tuple[str, str]]) -> int:
    position = {key: index for layer in layers for index, key in enumerate(layer)}
    pairs = [(position[upper], position[lower]) for upper, lower in links]
    layer_of = {key: number for number, layer in enumerate(layers) for key in layer}
    count = 0
    for index, (upper, _lower) in enumerate(links):
        for other in range(index):
            if layer_of[links[other][0]] != layer_of[upper]:
                continue
            (a1, b1), (a2, b2) = pairs[index], pairs[other]
            count += (a1 - a2) * (b1 - b2) < 0
    return count


def sweep(
    layers: list[list[str]], links: list[tuple[str, str]], downward: bool
) -> list[list[str]]:
    """Sort each layer by its nodes' mean neighbour position in the layer
    before it (downward) or after it (upward)."""
    neighbours: dict[str, list[str]] = defaultdict(list)
    for upper, lower in links:
        if downward:
            neighbours[lower].append(upper)
        else:
            neighbours[upper].append(lower)
    result = [list(layer) for layer in layers]
    steps = range(1, len(result)) if downward else range(len(result) - 2, -1, -1)
    for number in steps:
        fixed = result[number - 1] if downward else result[number + 1]
        result[number] = by_barycentre(result[number], fixed, neighbours)
    return result


def by_barycentre(
    layer: list[str], fixed: list[str], neighbours: dict[str, list[str]]
) -> list[str]:
    """The layer sorted by the mean position of each node's neighbours in the
    fixed layer; a node without any keeps its place."""
    position = {key: index for index, key in enumerate(fixed)}

    def barycentre(item: tuple[int, str]) -> float:
        index, key = item
        around = [position[other] for other in neighbours[key]]
        return sum(around) / len(around) if around else index

    return [key for _index, key in sorted(enumerate(layer), key=barycentre)]


def ordered_layers(nodes: dict[str, Node], links: list[tuple[str, str]]):
    count = 1 + max(node.layer for node in nodes.values())
    layers: list[list[str]] = [[] for _number in range(count)]
    for key, node in nodes.items():
        layers[node.layer].append(key)
    best, fewest = layers, crossings(layers, links)
    for number in range(ORDER_SWEEPS):
        layers = sweep(layers, links, downward=number % 2 == 0)
        found = crossings(layers, links)
        if found < fewest:
            best, fewest = layers, found
    return best


# 5. Places


def isotonic(values: list[float]) -> list[float]:
    """The non-decreasing sequence nearest to `values` (pool adjacent
    violators)."""
    blocks: list[tuple[float, int]] = []
    for value in values:
        blocks.append((value, 1))
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (mean_2, count_2), (mean_1, count_1) = blocks.pop(), blocks.pop()
            total = count_1 + count_2
            blocks.append(((mean_1 * count_1 + mean_2 * count_2) / total, total))
    return [mean for mean, count in blocks for _copy in range(count)]


def gap(left: Node, right: Node) -> float:
    between = BOX_GAP if left.state and right.state else BOX_GAP / 2
    return (left.span + right.span) / 2 + between


def fit(row: list[Node], wanted: list[float]) -> None:
    """Put each node as near its wanted centre as the order and gaps allow."""
    offsets = [0.0]
    for left, right in pairwise(row):
        offsets.append(offsets[-1] + gap(left, right))
    shifted = isotonic([x - offset for x, offset in zip(wanted, offsets, strict=True)])
    for node, value, offset in zip(row, shifted, offsets, strict=True):
        node.x = value + offset


def place(nodes: dict[str, Node], layers: list[list[str]], links) -> None:
    neighbours: dict[str, list[str]] = defaultdict(list)
    for upper, lower in links:
        neighbours[upper].append(lower)
        neighbours[lower].append(upper)
    for layer in layers:
        fit([nodes[key] for key in layer], [0.0] * len(layer))
    for number in range(PLACE_ROUNDS):
        order = layers if number % 2 == 0 else list(reversed(layers))
        for layer in order:
            row = [nodes[key] for key in layer]
            fit(row, [wanted_x(nodes, neighbours[node.key], node) for node in row])
    left = min(node.x - node.span / 2 for node in nodes.values())
    for node in nodes.values():
        node.x += MARGIN - left


def wanted_x(nodes: dict[str, Node], around: list[str], node: Node) -> float:
    if not around:
        return node.x
    return sum(nodes[key].x for key in around) / len(around)


def layout(workflow: Any, current: str | None) -> Layout:
    names = [state.name for state in workflow.states]
    moves, loops = moves_of(workflow)
    mark_back_moves([workflow.initial, *names], moves)
    rank = ranks(names, moves)
    nodes = nodes_of(workflow, moves, loops, rank)
    links = links_of(moves)
    layers = ordered_layers(nodes, links)
    place(nodes, layers, links)
    height = max(
        box_height(workflow, state, state.name == current) for state in workflow.states
    )
    return Layout(nodes, layers, moves, loops, height)


# 6. Drawing


def number(value: float) -> str:
    return f"{round(value, 1):g}"


Attributes = dict[str, str | float]


def tag(name: str, attributes: Mapping[str, str | float], content: str = "") -> str:
    """An SVG element. Attribute values are escaped here; `content` is
    markup, escaped by the caller."""
    written = "".join(
        f' {key}="{escape(value if isinstance(value, str) else number(value))}"'
        for key, value in attributes.items()
    )
    return f"<{name}{written}>{content}</{name}>"


def box_lines(workflow: Any, state: Any, is_current: bool) -> list[tuple[str, str]]:
    """(kind, text) of each line a box shows, top to bottom."""
    lines = [("marker", _("Current state"))] if is_current else []
    label = state_label(workflow, state.name)
    lines += [
        ("label", line)
        for line in wrap(label, LABEL_SIZE, BOLD_CHAR_EM, LABEL_LINES_MAX)
    ]
    if deadline := deadline_text(state):
        small = wrap(deadline, SMALL_SIZE, CHAR_EM, SMALL_LINES_MAX)
        lines += [("small", line) for line in small]
    return lines


LINE_STYLES: dict[str, tuple[int, Attributes]] = {
    "marker": (SMALL_LINE, {"font-size": SMALL_SIZE, "font-weight": "700"}),
    "label": (LABEL_LINE, {"font-size": LABEL_SIZE, "font-weight": "600"}),
    "small": (SMALL_LINE, {"font-size": SMALL_SIZE, "fill": MUTED}),
}


def lines_height(lines: list[tuple[str, str]]) -> float:
    return 2 * BOX_PADDING + sum(LINE_STYLES[kind][0] for kind, _text in lines)


def box_height(workflow: Any, state: Any, is_current: bool) -> float:
    return lines_height(box_lines(workflow, state, is_current))


def layer_top(number: int, box_height: float) -> float:
    return MARGIN + START_SPACE + number * (box_height + LAYER_GAP)


def draw_box(workflow: Any, plan: Layout, node: Node, current: str | None) -> str:
    state, is_current = node.state, node.key == current
    top = layer_top(node.layer, plan.box_height)
    left = node.x - BOX_WIDTH / 2
    frame = {"x": left, "y": top, "width": BOX_WIDTH, "height": plan.box_height}
    parts = [
        tag(
            "rect",
            {
                **frame,
                "rx": 12 if state.is_final else 6,
                "fill": box_fill(state, is_current),
                "stroke": ACCENT if is_current else INK,
                "stroke-width": 3.5 if is_current else 1.25,
            },
        )
    ]
    if state.is_final:
        inner = {"x": left + 4, "y": top + 4, "width": BOX_WIDTH - 8}
        inner["height"] = plan.box_height - 8
        parts.append(tag("rect", {**inner, "rx": 9, "fill": "none", "stroke": INK}))
    lines = box_lines(workflow, state, is_current)
    parts.append(
        box_text(lines, node.x, top + (plan.box_height - lines_height(lines)) / 2)
    )
    classes = " ".join(
        ["state", *(["final"] if state.is_final else []), *(["current"] * is_current)]
    )
    tooltip = tag("title", {}, escape(box_tooltip(workflow, state)))
    return tag(
        "g", {"class": classes, "data-state": state.name}, tooltip + "".join(parts)
    )


def box_fill(state: Any, is_current: bool) -> str:
    if is_current:
        return CURRENT_FILL
    return FINAL_FILL if state.is_final else CARD


def box_tooltip(workflow: Any, state: Any) -> str:
    label = state_label(workflow, state.name)
    deadline = deadline_text(state)
    return f"{label} · {deadline}" if deadline else label


def box_text(lines: list[tuple[str, str]], x: float, top: float) -> str:
    # Boxes share the tallest box's height: a shorter text sits in the middle.
    y = top + BOX_PADDING
    written = []
    for kind, text in lines:
        height, style = LINE_STYLES[kind]
        y += height
        attributes: Attributes = {"x": x, "y": y - 4, "text-anchor": "middle"}
        attributes["fill"] = INK
        written.append(tag("text", {**attributes, **style}, escape(text)))
    return "".join(written)


def ports(plan: Layout, initial: str) -> dict[tuple[int, str], float]:
    """Where each move leaves or reaches a box, by (move index, side); the
    start arrow is move -1. Ends are spread along the side in the order of
    where they come from, so that they do not cross at the box; a back move
    and the forward move it pairs with sit side by side."""
    sides: dict[tuple[str, str], list[tuple[float, bool, int]]] = defaultdict(list)
    for index, move in enumerate(plan.moves):
        upper, after, before, lower = *move.chain[:2], *move.chain[-2:]
        sides[upper, "bottom"].append((plan.nodes[after].x, move.back, index))
        sides[lower, "top"].append((plan.nodes[before].x, move.back, index))
    sides[initial, "top"].append((plan.nodes[initial].x, False, -1))
    found = {}
    usable = BOX_WIDTH * PORT_SHARE
    for (key, side), ends in sides.items():
        left = plan.nodes[key].x - usable / 2
        for place, (_x, _back, index) in enumerate(sorted(ends)):
            found[index, side] = left + usable * (place + 0.5) / len(ends)
    return found


def move_points(
    plan: Layout, move: Move, index: int, port: dict[tuple[int, str], float]
) -> list[tuple[float, float]]:
    """The move's path from its source to its target: pairs of points that
    cross the gap between two layers, joined by straight lines through the
    layers it passes."""
    height = plan.box_height
    upper, lower = plan.nodes[move.chain[0]], plan.nodes[move.chain[-1]]
    points = [(port[index, "bottom"], layer_top(upper.layer, height) + height)]
    for key in move.chain[1:-1]:
        waypoint = plan.nodes[key]
        top = layer_top(waypoint.layer, height)
        points += [(waypoint.x, top), (waypoint.x, top + height)]
    points.append((port[index, "top"], layer_top(lower.layer, height)))
    return list(reversed(points)) if move.back else points


def path_of(points: list[tuple[float, float]]) -> str:
    """Curves leave and reach the boxes upright; the arrowhead is left out."""
    tip_x, tip_y = points[-1]
    direction = 1 if tip_y > points[-2][1] else -1
    points = [*points[:-1], (tip_x, tip_y - direction * ARROW_LENGTH)]
    steps = [f"M{number(points[0][0])} {number(points[0][1])}"]
    for index in range(0, len(points) - 1, 2):
        (x1, y1), (x2, y2) = points[index], points[index + 1]
        middle = number((y1 + y2) / 2)
        steps.append(f"C{number(x1)} {middle} {number(x2)} {middle} {point(x2, y2)}")
        if index + 2 < len(points):
            steps.append("L" + point(*points[index + 2]))
    return " ".join(steps)


def point(x: float, y: float) -> str:
    return f"{number(x)} {number(y)}"


def arrowhead(tip: tuple[float, float], along: tuple[float, float]) -> str:
    """A triangle whose point is `tip`, pointing along the unit vector."""
    (x, y), (dx, dy) = tip, along
    base_x, base_y = x - dx * ARROW_LENGTH, y - dy * ARROW_LENGTH
    side_x, side_y = -dy * ARROW_HALF_WIDTH, dx * ARROW_HALF_WIDTH
    corners = [(base_x + side_x, base_y + side_y), (base_x - side_x, base_y - side_y)]
    return f"M{point(x, y)} " + " ".join(f"L{point(*c)}" for c in corners) + " Z"


def draw_move(
    workflow: Any,
    plan: Layout,
    index: int,
    port: dict[tuple[int, str], float],
    current: str | None,
) -> str:
    move = plan.moves[index]
    points = move_points(plan, move, index, port)
    tip = points[-1]
    along = (0.0, 1.0 if tip[1] > points[-2][1] else -1.0)
    return move_group(workflow, move, current, path_of(points), arrowhead(tip, along))


def draw_loop(workflow: Any, plan: Layout, move: Move, current: str | None) -> str:
    """A move that stays in its state: a loop on the box's right side."""
    node = plan.nodes[move.source]
    top = layer_top(node.layer, plan.box_height)
    right = node.x + BOX_WIDTH / 2
    y1, y2 = top + plan.box_height * 0.3, top + plan.box_height * 0.7
    bulge = right + LOOP_WIDTH
    path = (
        f"M{point(right, y1)} C{point(bulge, y1 - 8)} {point(bulge, y2 + 8)} "
        f"{point(right + ARROW_LENGTH, y2)}"
    )
    return move_group(workflow, move, current, path, arrowhead((right, y2), (-1, 0)))


def move_group(workflow: Any, move: Move, current: str | None, path: str, head: str):
    available = current is not None and move.source == current
    # Once a state is highlighted, the moves out of it stand out: thicker,
    # and the others fainter.
    colour = FAINT if current is not None and not available else INK
    line: Attributes = {"d": path, "fill": "none", "stroke": colour}
    line["stroke-width"] = 2.5 if available else 1.5
    if move.back:
        line["stroke-dasharray"] = "6 4"
    classes = ["move", *(["back"] * move.back), *(["available"] * available)]
    tooltip = "{} → {}: {}".format(
        state_label(workflow, move.source),
        state_label(workflow, move.target),
        "; ".join(str(transition.label) for transition in move.transitions),
    )
    attributes = {
        "class": " ".join(classes),
        "data-source": move.source,
        "data-target": move.target,
        "data-transitions": " ".join(t.name for t in move.transitions),
    }
    content = tag("title", {}, escape(tooltip)) + tag("path", line)
    return tag("g", attributes, content + tag("path", {"d": head, "fill": colour}))


def draw_start(plan: Layout, initial: str, port: dict[tuple[int, str], float]):
    """A dot and an arrow into the initial state."""
    node = plan.nodes[initial]
    x, tip_y = port[-1, "top"], layer_top(node.layer, plan.box_height)
    dot_y = tip_y - START_SPACE + 7
    line = f"M{point(x, dot_y)} L{point(x, tip_y - ARROW_LENGTH)}"
    content = tag("circle", {"cx": x, "cy": dot_y, "r": 6, "fill": INK})
    content += tag("path", {"d": line, "stroke": INK, "stroke-width": 1.5})
    content += tag("path", {"d": arrowhead((x, tip_y), (0, 1)), "fill": INK})
    return tag("g", {"class": "start"}, content)


def extent(plan: Layout) -> tuple[float, float]:
    width = max(node.x + node.span / 2 for node in plan.nodes.values()) + MARGIN
    height = layer_top(len(plan.layers) - 1, plan.box_height) + plan.box_height
    return width, height + MARGIN


SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def workflow_svg(
    workflow: Any, current: str | None = None, id_prefix: str = ""
) -> SafeString:
    """The workflow as an SVG image, its `current` state highlighted if given.

    `id_prefix` keeps the ids of the title and description unique when a
    page shows several diagrams."""
    plan = layout(workflow, current)
    port = ports(plan, workflow.initial)
    prefix = id_prefix or f"diagram-{workflow.name}"
    title = _("Workflow diagram: %(name)s") % {"name": workflow.label}
    parts = [
        tag("title", {"id": f"{prefix}-title"}, escape(title)),
        tag("desc", {"id": f"{prefix}-desc"}, escape(description(workflow, current))),
        draw_start(plan, workflow.initial, port),
        *(draw_move(workflow, plan, i, port, current) for i in range(len(plan.moves))),
        *(draw_loop(workflow, plan, move, current) for move in plan.loops),
        *(
            draw_box(workflow, plan, plan.nodes[state.name], current)
            for state in workflow.states
        ),
    ]
    width, height = extent(plan)
    attributes: Attributes = {
        "xmlns": SVG_NAMESPACE,
        "viewBox": f"0 0 {point(width, height)}",
        "width": width,
        "height": height,
        "role": "img",
        "aria-labelledby": f"{prefix}-title {prefix}-desc",
        "class": "workflow-diagram",
        "font-family": FONT,
    }
    # Safe: every text and attribute value above went through escape().
    return mark_safe(tag("svg", attributes, "".join(parts)))  # noqa: S308


# The case page


def state_named(workflow: Any, name: str) -> Any:
    return next((state for state in workflow.states if state.name == name), None)


def case_picture(case: Case, happens: str) -> dict[str, Any]:
    """What console/case_workflow.html shows: the case's workflow with its
    current state highlighted, and its next deadline.

    The state's deadline (`deadline_at`) is what staff count down to, and
    `happens` says what its passing does; the worker's next wake-up
    (`due_at`) stands in when the state has none. A reminder due before the
    deadline is shown beside it."""
    workflow = workflows.for_kind(case.kind)
    state = state_named(workflow, case.status)
    deadline = case.deadline_at or case.due_at
    reminder = case.due_action == workflows.REMIND and case.due_at != deadline
    return {
        "name": workflow.name,
        "label": workflow.label,
        "svg": workflow_svg(workflow, state and state.name, id_prefix="case-diagram"),
        "deadline": deadline,
        "happens": happens or (deadline_text(state) if state is not None else ""),
        "reminder_at": case.due_at if reminder else None,
    }
