"""utils.graph: the circuit drawing puts every value and gradient on the figure."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from utils.graph import Node, draw_graph, from_value  # noqa: E402


class Scalar:
    """The minimal micrograd-like interface from_value relies on."""
    def __init__(self, data, prev=(), op="", label=""):
        self.data, self.grad, self._prev, self._op, self.label = data, 0.0, prev, op, label


def texts(ax):
    return {t.get_text() for t in ax.texts}


def test_circuit_shows_forward_values_and_gradients():
    nodes = [Node("x", "x", -2, -4), Node("y", "y", 5, -4), Node("z", "z", -4, 3),
             Node("q", "+", 3, -4, ("x", "y")), Node("f", "×", -12, 1, ("q", "z"))]
    ax = draw_graph(nodes)
    assert {"-2", "5", "-4", "3", "-12", "1", "+", "×", "x", "y", "z"} <= texts(ax)
    plt.close("all")


def test_from_value_orders_inputs_first_and_links_them():
    x, y = Scalar(2.0, label="x"), Scalar(3.0, label="y")
    out = Scalar(6.0, (x, y), "*")
    nodes = from_value(out)
    assert [n.label for n in nodes] == ["x", "y", "*"]
    assert nodes[-1].inputs == (nodes[0].name, nodes[1].name)
    ax = draw_graph(nodes)
    assert {"2", "3", "6"} <= texts(ax)
    plt.close("all")
