"""Sliders that redraw a plot, with a static fallback where widgets cannot run."""
__all__ = ["slider_plot"]


def slider_plot(draw, **sliders):
    """Call ``draw(**values)`` whenever a slider moves.

    Each keyword is ``name=(min, max, step, initial)``. Without ipywidgets (or outside a
    live kernel) the plot is drawn once with the initial values and a note says why.
    """
    initial = {name: spec[3] for name, spec in sliders.items()}
    try:
        import ipywidgets as widgets
        from IPython.display import display
    except ImportError:
        print("ipywidgets is not installed: showing a static plot with the default values.")
        draw(**initial)
        return None
    controls = {
        name: widgets.FloatSlider(min=lo, max=hi, step=step, value=value, description=name,
                                  continuous_update=False)
        for name, (lo, hi, step, value) in sliders.items()
    }
    view = widgets.interactive(draw, **controls)
    display(view)
    return view
