"""The instructor's tool: release student versions, autograde submissions, report grades.

Built on nbgrader's own pieces (course directory, gradebook, preprocessors); one module per
step of the flow: ``course`` (a private nbgrader course), ``release``, ``ingest``,
``grade``, ``report``, ``examples`` (the demo's submissions) and ``cli``.
"""
