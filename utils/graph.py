"""Draw a computational graph with forward values (green) and gradients (red) on its edges.

Pure matplotlib, so it works in Colab and in CI without a graphviz binary. A graph is a
list of ``Node``s; ``from_value`` builds that list from a micrograd-style ``Value``
(anything with ``data``, ``grad``, ``_prev`` and ``_op``).
"""
from dataclasses import dataclass

import matplotlib.pyplot as plt

from utils.plotting import BACKWARD, FORWARD, apply_style

__all__ = ["Node", "draw_graph", "from_value"]


@dataclass
class Node:
    """One node: an input (no ``inputs``) or an operation applied to earlier nodes."""
    name: str
    label: str
    value: float = None
    grad: float = None
    inputs: tuple = ()


def from_value(root):
    """Nodes of the graph that ends at ``root``, inputs first (duck-typed on micrograd's ``Value``)."""
    order, seen = [], set()

    def visit(v):
        if id(v) in seen:
            return
        seen.add(id(v))
        for child in getattr(v, "_prev", ()):
            visit(child)
        order.append(v)

    visit(root)
    names = {id(v): f"n{i}" for i, v in enumerate(order)}
    return [Node(name=names[id(v)],
                 label=getattr(v, "_op", "") or getattr(v, "label", "") or f"{v.data:.3g}",
                 value=v.data, grad=v.grad,
                 inputs=tuple(names[id(c)] for c in getattr(v, "_prev", ())))
            for v in order]


def _layout(nodes):
    """x = length of the longest path from an input; y spreads the nodes of one column."""
    by_name = {n.name: n for n in nodes}
    depth = {}
    for node in nodes:  # nodes are in topological order
        depth[node.name] = 1 + max((depth[i] for i in node.inputs), default=-1)
    columns = {}
    for node in nodes:
        columns.setdefault(depth[node.name], []).append(node.name)
    position = {}
    for x, names in columns.items():
        for k, name in enumerate(names):
            position[name] = (float(x), (len(names) - 1) / 2 - k)
    return by_name, position


def _fmt(number):
    return "" if number is None else f"{number:.3g}"


def draw_graph(nodes, ax=None, title=None):
    """Draw ``nodes`` (inputs first); returns the matplotlib ``Axes``.

    Each edge carries the value flowing forward above it and, if known, the gradient of
    the output with respect to that value below it. The output gets a stub edge on the right.
    """
    apply_style()
    by_name, position = _layout(nodes)
    if ax is None:
        width = 2.2 * (1 + max(x for x, _ in position.values()))
        _, ax = plt.subplots(figsize=(max(width, 4), 1.6 + 1.1 * len(nodes) ** 0.5))
    consumers = {n.name: [m for m in nodes if n.name in m.inputs] for n in nodes}

    def edge(start, end, node):
        ax.annotate("", xy=end, xytext=start,
                    arrowprops=dict(arrowstyle="-|>", color="0.35", lw=1.2,
                                    shrinkA=16, shrinkB=16))
        mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        ax.text(mid[0], mid[1] + 0.08, _fmt(node.value), color=FORWARD, ha="center",
                va="bottom", fontsize=10, fontweight="bold")
        ax.text(mid[0], mid[1] - 0.08, _fmt(node.grad), color=BACKWARD, ha="center",
                va="top", fontsize=10, fontweight="bold")

    for node in nodes:
        x, y = position[node.name]
        is_input = not node.inputs
        ax.text(x, y, node.label, ha="center", va="center", fontsize=11,
                bbox=None if is_input else dict(boxstyle="circle", fc="white", ec="0.2"))
        for consumer in consumers[node.name]:
            edge((x, y), position[consumer.name], node)
        if not consumers[node.name]:
            edge((x, y), (x + 0.9, y), node)

    xs = [x for x, _ in position.values()]
    ys = [y for _, y in position.values()]
    ax.set_xlim(min(xs) - 0.4, max(xs) + 1.1)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    # An explicit y: matplotlib's search for a free title position measured every tick (a hidden
    # axis has them too) and took most of a redraw.
    ax.set_title(title or "forward values (green, above) and gradients (red, below)", y=1.0)
    return ax
