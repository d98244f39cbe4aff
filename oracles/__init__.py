"""Reference implementations and oracles for the hidden tests: the grader's, never the students'.

Everything here does some exercise's work (a numerical gradient answers "gradient checking", a
measured receptive field answers "receptive fields"), so it lives outside ``utils``: ``publish``
leaves it out of the student edition, the grading sandbox mounts it next to ``utils``, and the
answer policy refuses it in answers. Visible checks never import it; only hidden tests do.
"""
