"""Sliders that redraw a plot, with a static fallback where widgets cannot run.

Where a student meets a widget cell, and what it shows:

* a live Jupyter front end with ipywidgets (JupyterLab, Notebook 7, Colab, VS Code): the sliders
  and the plot, redrawn when a slider is released;
* a viewer that cannot render widgets (a saved notebook on GitHub, a front end without the
  widget extension, a text console): the same output also carries the plot at the initial values
  as a PNG and, as text, a note saying why the sliders are missing; a viewer picks the richest
  form it can show;
* no ipywidgets, or no kernel at all (a plain ``python`` script): the plot drawn once and the note.

A plot that needs an exercise not solved yet (its stub raises ``NotImplementedError()``) shows one
line naming the function to write (``unsolved``), not the traceback.

It works with ipywidgets 7.7 (Colab's) and 8: the display bundle is built here, not taken from
``_repr_mimebundle_``, which 7.x widgets do not have.
"""
import base64
import io

__all__ = ["slider_plot", "unsolved"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NOTE = ("Interactive plot: the sliders ({names}) need a running Jupyter kernel with ipywidgets; "
        "this is the plot at their initial values.")


def slider_plot(draw, *, exercise=None, **sliders):
    """Call ``draw(**values)`` whenever a slider moves.

    Each keyword is ``name=(min, max, step, initial)``; four ints make an integer slider (a
    batch size reads "16", not "16.00"), anything else a float slider. Displays the widget and
    returns None (returning it as well would make Jupyter show it twice when the call ends a cell).
    ``exercise``: the number of the exercise whose functions ``draw`` calls, named while unsolved.
    Without ipywidgets (or outside a live kernel) the plot is drawn once with the initial
    values and a note says why.
    """
    initial = {name: spec[3] for name, spec in sliders.items()}
    note = NOTE.format(names=", ".join(sliders))
    widgets = _live_ipywidgets()
    if widgets is None:
        print(note)
        _only_these(draw, exercise)(**initial)
        return None
    from IPython.display import display

    controls = {}
    for name, (lo, hi, step, value) in sliders.items():
        kind = widgets.IntSlider if all(isinstance(v, int) for v in (lo, hi, step, value)) else widgets.FloatSlider
        controls[name] = kind(min=lo, max=hi, step=step, value=value, description=name,
                              continuous_update=False)  # redraw when released, not while dragging
    view = widgets.interactive(_only_these(draw, exercise), **controls)
    if int(widgets.__version__.split(".")[0]) < 8:
        view.update()  # 7.x draws first when displayed as a widget, which the raw bundle below is not
    bundle = {WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": view.model_id},
              "text/plain": note}  # what display(view) sends, in ipywidgets 7 (Colab's) and 8 alike
    png = _static_png(draw, initial)
    if png is not None:
        bundle["image/png"] = png
    display(bundle, raw=True)
    return None


def unsolved(error, exercise=None):
    """The line that replaces the traceback of an exercise not solved yet, or None.

    An exercise's stub raises a bare ``NotImplementedError()`` (a library's carries a message),
    and the function that raised it is the one the student still has to write. The widget's cell
    says which exercise that is (``exercise``): a kernel cannot read the notebook's headings.
    """
    if type(error) is not NotImplementedError or error.args or error.__traceback__ is None:
        return None
    frame = error.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    code = frame.tb_frame.f_code
    name = getattr(code, "co_qualname", code.co_name).split("<locals>.")[-1]  # "Momentum.step" (3.11+)
    where = f"Exercise {exercise} (`{name}`)" if exercise else f"the exercise that defines `{name}`"
    return f"Solve {where} first: it still raises NotImplementedError. Run its cell, then run this one again."


def _only_these(draw, exercise=None):
    """``draw`` behind a ``**values`` signature: ``interactive`` makes a widget for every
    parameter with a default it sees, so the draw's other keywords would become sliders too.
    An unsolved exercise prints its one line instead of a traceback."""
    def redraw(**values):
        import matplotlib.pyplot as plt

        before = set(plt.get_fignums())
        try:
            return draw(**values)
        except NotImplementedError as error:
            message = unsolved(error, exercise)
            if message is None:
                raise
            for number in set(plt.get_fignums()) - before:  # half-drawn: it would show empty axes
                plt.close(number)
            print(message)
        return None

    return redraw


def _live_ipywidgets():
    """The ipywidgets module when a kernel can talk to a widget front end, else None."""
    try:
        import ipywidgets
        from IPython import get_ipython
    except ImportError:
        return None
    if getattr(get_ipython(), "kernel", None) is None:  # plain Python or a terminal IPython
        return None
    return ipywidgets


def _static_png(draw, values):
    """The PNG (base64 text) that ``draw(**values)`` produces off screen; None if it draws nothing.

    An exception is not raised here: the widget runs the same call and shows its message
    in its own output, where the student sees it (e.g. an exercise not solved yet).
    """
    import matplotlib.pyplot as plt
    from IPython.utils.capture import capture_output

    before = set(plt.get_fignums())
    plt.figure()  # a draw that plots into "the current figure" must not reuse one left open
    png = None
    try:
        with capture_output() as captured:  # the inline backend's plt.show() displays a PNG
            draw(**values)
    except Exception:
        captured = None
    new = [plt.figure(n) for n in plt.get_fignums() if n not in before]
    if captured is not None:  # the last image shown (an empty figure shows none)
        png = next((out.data["image/png"] for out in reversed(captured.outputs) if "image/png" in out.data),
                   None)
        drawn = [figure for figure in new if figure.axes]
        if png is None and drawn:  # a backend whose show() displays nothing: save the open figure
            buffer = io.BytesIO()
            drawn[-1].savefig(buffer, format="png", bbox_inches="tight")
            png = buffer.getvalue()
    for figure in new:  # left open, they would show up again below the widget
        plt.close(figure)
    if isinstance(png, bytes):
        png = base64.b64encode(png).decode("ascii")
    return png
