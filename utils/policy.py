"""The answer policy: what code in an answer may use, checked with ``ast`` before anything runs.

Why: answers run in the same Python process as the tests that grade them, so an answer that
can reach the interpreter's machinery (frames, ``sys``, IPython's shell, the checks' globals)
can make any test pass. The grader parses every cell a student wrote or could have changed and
refuses to run one that imports outside an allow-list, touches dunder or private attributes of
what it did not define, calls the reflective builtins (``getattr``, ``eval``, ``open``...),
reads the input history, uses IPython syntax, patches the modules or names the locked cells
bind, or calls the library function that would do the exercise's own work. Honest answers
(loops or vectorised code, helpers, classes with ``__init__`` and operators, prints, plots)
never need any of it.

The same check runs anywhere a student is: ``python -m utils.policy NOTEBOOK`` prints what the
grader would refuse, with the cell and line, before the notebook is submitted.

A notebook declares its own additions in its metadata (the solution notebook is the truth)::

    "dlf": {"policy": {"imports": ["torchvision.transforms.v2"], "given": ["3f2a..."],
                        "forbidden": {"optim-sgd-answer": ["torch.optim"],
                                      "init-backward-answer": [".backward", "torch.autograd"]}}}

``given`` lists the digests of the notebook's own unlocked cells (plots, widgets) so that they are
recognised when unchanged; ``python -m autograder release`` keeps it up to date.

A forbidden entry is a dotted path (refused as an import, or as an attribute path through any
alias, ``F.conv2d`` for ``torch.nn.functional.conv2d``) or ``.name`` (refused as any attribute).
"""
import ast
import functools
import string
import sys
from dataclasses import dataclass, field

__all__ = ["Policy", "Violation", "check", "check_cell", "check_notebook", "forbidden_note", "given_cells", "main"]

# Modules an answer may import (a listed module's submodules are allowed too).
ALLOWED_IMPORTS = frozenset({
    "numpy", "math", "cmath", "matplotlib", "tqdm", "ipywidgets", "IPython.display",
    "torch", "torchvision", "utils",
    "functools", "itertools", "collections", "dataclasses", "typing", "numbers", "copy", "time",
    "random", "statistics", "operator", "warnings", "abc", "enum", "heapq", "bisect", "contextlib",
    "__future__",
})
# Submodules of allowed packages that reach outside Python (C memory, compilers, downloads, processes).
REFUSED_IMPORTS = frozenset({
    "numpy.ctypeslib", "numpy.f2py", "numpy.distutils", "numpy.testing", "torch.utils.cpp_extension",
    "torch.hub", "torch.package", "torch.library", "torch.multiprocessing", "torch.distributed",
    "torch.serialization", "torch.overrides", "torch.testing", "torch.jit", "torch.fx", "torch.ops",
    "utils.policy",
    "matplotlib.pyplot.sys",
})
REFUSED_BUILTINS = frozenset({
    "getattr", "setattr", "delattr", "eval", "exec", "compile", "globals", "locals", "vars",
    "__import__", "open", "breakpoint", "input", "exit", "quit", "help", "memoryview",
})
HISTORY_NAMES = frozenset({"In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii", "get_ipython",
                           "__builtins__", "__builtin__", "__loader__", "__spec__"})
# Dunders honest answers use: the Value engine's operators, super().__init__, a repr, f.__name__.
ALLOWED_DUNDERS = frozenset({
    "__init__", "__name__", "__qualname__", "__class__", "__doc__", "__repr__", "__str__",
    "__len__", "__iter__", "__next__", "__getitem__", "__setitem__", "__contains__", "__call__",
    "__enter__", "__exit__", "__hash__", "__bool__", "__float__", "__int__", "__abs__", "__neg__",
    "__pos__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__", "__rmul__",
    "__imul__", "__truediv__", "__rtruediv__", "__itruediv__", "__floordiv__", "__rfloordiv__",
    "__mod__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__",
})
# Attributes that reach frames, code, C memory or modules the allow-list leaves out, on any object.
REFUSED_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_back", "f_locals",
    "f_globals", "f_builtins", "f_code", "tb_frame", "tb_next", "co_code", "co_consts", "co_names",
    "ctypes", "ctypeslib", "cpp_extension", "load_library", "f2py", "distutils", "hub", "library",
    "attrgetter", "methodcaller", "get_type_hints", "add_safe_globals", "safe_globals",
    "sys", "os", "builtins", "subprocess", "importlib", "inspect", "linecache", "traceback", "gc",
    "pickle", "marshal", "shutil", "socket", "signal", "threading", "multiprocessing", "weakref",
    "types", "runpy", "atexit", "serialization", "overrides",
})
# Module settings honest code changes: cuDNN's autotuner and determinism, matplotlib's defaults.
SETTABLE = frozenset({"torch.backends.cudnn.benchmark", "torch.backends.cudnn.deterministic",
                      "torch.backends.cudnn.allow_tf32", "torch.backends.cuda.matmul.allow_tf32",
                      "matplotlib.rcParams", "matplotlib.pyplot.rcParams"})
REFUSED_KEYWORDS = {("allow_pickle", True): "`allow_pickle=True` (unpickling runs arbitrary code)",
                    ("weights_only", False): "`weights_only=False` (unpickling runs arbitrary code)"}


# Names IPython reads to decide what a traceback shows: an answer that defines one could make its
# own failure look like a check's message (the grader classifies failures by their traceback).
TRACEBACK_HOOKS = frozenset({"__tracebackhide__", "__traceback_hide__", "_render_traceback_"})


@dataclass(frozen=True)
class Violation:
    cell: object  # the cell's index in the notebook (or a label), None for a lone source
    line: int
    message: str

    def __str__(self):
        where = f"cell {self.cell}, line {self.line}" if self.cell is not None else f"line {self.line}"
        return f"{where}: {self.message}"


@dataclass
class Policy:
    """What answers of one notebook may import, and the calls each exercise refuses."""
    imports: frozenset = ALLOWED_IMPORTS
    forbidden: dict = field(default_factory=dict)  # answer grade_id -> ("torch.optim", ".backward", ...)
    given: frozenset = frozenset()  # digests of the notebook's own unlocked code cells (plots, widgets)

    @classmethod
    def from_notebook(cls, notebook):
        declared = notebook.get("metadata", {}).get("dlf", {}).get("policy", {})
        return cls(ALLOWED_IMPORTS | frozenset(declared.get("imports", ())),
                   {k: tuple(v) for k, v in declared.get("forbidden", {}).items()},
                   frozenset(declared.get("given", ())))

    def allows_import(self, module):
        if any(module == r or module.startswith(r + ".") for r in REFUSED_IMPORTS):
            return False
        return any(module == a or module.startswith(a + ".") for a in self.imports)


def forbidden_note(names):
    """The line an exercise's text carries so that the student knows the rule before the grader does."""
    shown = ", ".join(f"`{n.lstrip('.')}`" if not n.startswith(".") else f"`{n}()`" for n in names)
    return f"*Not allowed in this answer (the grader refuses it): {shown}.*"


@dataclass
class Context:
    """What the locked cells define: aliases of modules (``np`` -> ``numpy``) and pinned names."""
    modules: dict = field(default_factory=dict)   # name -> dotted module/attribute path
    pinned: set = field(default_factory=set)      # names a locked cell binds


def _bound_names(tree):
    """Names a cell binds at its top level (assignments, defs, classes, imports), not inside defs."""
    names, pending = set(), list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if not isinstance(node, ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return names


@functools.lru_cache(maxsize=1024)
def bound_names(source):
    """Names a cell's source binds at its top level (empty when it does not parse). Cached: the
    grader asks it of every locked cell of every submission, and the cells are the course's."""
    try:
        return frozenset(_bound_names(parse(source)))
    except SyntaxError:
        return frozenset()


def _local_names(function):
    """A function's parameters and the names its own body binds: they shadow the notebook's."""
    arguments = function.args
    names = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
    names |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a}
    if not isinstance(function, ast.Lambda):
        names |= _bound_names(ast.Module(body=function.body, type_ignores=[]))
    return names


def _import_aliases(tree):
    """name -> dotted path for every ``import`` in ``tree``."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if a.name != "*":
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def parse(source):
    """The cell's AST as IPython would run it (top-level ``await`` allowed), or a SyntaxError."""
    flags = ast.PyCF_ONLY_AST | getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    return compile(source, "<cell>", "exec", flags=flags, dont_inherit=True)


def uses_ipython_syntax(source):
    """Whether the cell is IPython syntax rather than Python: magics, ``!shell``, ``x?``.

    Such a cell does not parse as Python, but IPython's own input transformer turns it into
    code that does (calls into the shell, which answers may not reach).
    """
    try:
        parse(source)
        return False
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # no IPython: nothing would rewrite the cell
        return False
    try:
        parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return False
    return True


def _dotted(node):
    """``a.b.c`` for an attribute chain on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id] + parts[::-1])
    return None


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


class _Checker(ast.NodeVisitor):
    def __init__(self, policy, context, forbidden, cell):
        self.policy, self.context, self.forbidden, self.cell = policy, context, forbidden, cell
        self.aliases = dict(context.modules)  # grows with this cell's own imports
        self.scopes = []  # the local names of the functions being visited, innermost last
        self.violations = []

    def shadowed(self, name):
        return any(name in scope for scope in self.scopes)

    def visit_FunctionDef(self, node):
        if node.name in TRACEBACK_HOOKS:
            self.refuse(node, f"defining `{node.name}` (it changes what a traceback shows) is not allowed in answers")
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if getattr(node, "returns", None):
            self.visit(node.returns)
        self.scopes.append(_local_names(node))
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self.visit(node.args)
        self.scopes.append(_local_names(node))
        self.visit(node.body)
        self.scopes.pop()

    def refuse(self, node, message):
        self.violations.append(Violation(self.cell, getattr(node, "lineno", 1), message))

    def resolve(self, dotted):
        head, _, rest = dotted.partition(".")
        if head not in self.aliases or self.shadowed(head):
            return None
        return f"{self.aliases[head]}.{rest}" if rest else self.aliases[head]

    def check_forbidden_path(self, node, path):
        for name in self.forbidden:
            if not name.startswith(".") and (path == name or path.startswith(name + ".")):
                self.refuse(node, f"`{name}` would do this exercise's work: it is not allowed in this answer")
                return True
        return False

    # -- imports -----------------------------------------------------------------------
    def visit_Import(self, node):
        for a in node.names:
            self.check_module(node, a.name)
            self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]

    def visit_ImportFrom(self, node):
        if node.level:
            self.refuse(node, "relative imports are not allowed in answers")
            return
        self.check_module(node, node.module)
        for a in node.names:
            if a.name == "*":
                self.refuse(node, f"`from {node.module} import *` is not allowed in answers: name what you use")
                continue
            full = f"{node.module}.{a.name}"
            self.check_name(node, a.name)
            if a.name.startswith("_") and not (a.name.startswith("__") and a.name.endswith("__")):
                self.refuse(node, f"importing the private name `{a.name}` is not allowed in answers")
            elif not self.check_forbidden_path(node, full) and self.policy.allows_import(node.module) \
                    and not self.policy.allows_import(full) and _is_module(full):
                self.refuse(node, f"importing `{full}` is not allowed in answers")
            elif a.name in REFUSED_ATTRIBUTES:
                self.refuse(node, f"importing `{full}` is not allowed in answers")
            self.aliases[a.asname or a.name] = full

    def check_module(self, node, module):
        if not self.policy.allows_import(module):
            self.refuse(node, f"importing `{module}` is not allowed in answers")
        else:
            self.check_forbidden_path(node, module)

    # -- names and attributes ----------------------------------------------------------
    def check_name(self, node, name):
        if name in REFUSED_BUILTINS:
            self.refuse(node, f"`{name}` is not allowed in answers")
        elif name in HISTORY_NAMES or (name.startswith("_i") and name[2:].isdigit()):
            self.refuse(node, f"`{name}` (the notebook's history or the IPython shell) is not allowed in answers")
        elif name.startswith("__") and name.endswith("__") and name != "__name__":
            self.refuse(node, f"the name `{name}` is not allowed in answers")

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store) and node.id in TRACEBACK_HOOKS:
            self.refuse(node, f"defining `{node.id}` (it changes what a traceback shows) is not allowed in answers")
        elif not (isinstance(node.ctx, ast.Store) and node.id.startswith("__")):  # a class defining __eq__
            self.check_name(node, node.id)
        if isinstance(node.ctx, ast.Load) and not self.shadowed(node.id) and node.id in self.aliases:
            self.check_forbidden_path(node, self.aliases[node.id])

    def visit_Attribute(self, node):
        attr = node.attr
        if attr in TRACEBACK_HOOKS:
            self.refuse(node, f"the attribute `{attr}` (it changes what a traceback shows) is not allowed in answers")
        elif attr.startswith("__") and attr.endswith("__"):
            if attr not in ALLOWED_DUNDERS:
                self.refuse(node, f"the attribute `{attr}` is not allowed in answers")
        elif attr in REFUSED_ATTRIBUTES:
            self.refuse(node, f"the attribute `.{attr}` is not allowed in answers")
        elif attr.startswith("_") and self.is_foreign(node.value):
            self.refuse(node, f"the private attribute `.{attr}` of `{ast.unparse(node.value)}` is not allowed "
                              f"in answers")
        if attr in ("format", "format_map"):
            self.check_format(node)
        if "." + attr in self.forbidden:
            self.refuse(node, f"`.{attr}` would do this exercise's work: it is not allowed in this answer")
        dotted = _dotted(node)
        path = dotted and self.resolve(dotted)
        if path:
            if not self.check_forbidden_path(node, path):
                for refused in REFUSED_IMPORTS:
                    if path == refused or path.startswith(refused + "."):
                        self.refuse(node, f"`{dotted}` (`{refused}`) is not allowed in answers")
                        break
        self.generic_visit(node)

    def is_foreign(self, node):
        """Whether an expression is a module or an object the locked cells bind (not the student's own)."""
        root = _root(node)
        return isinstance(root, ast.Name) and not self.shadowed(root.id) and (
            root.id in self.aliases or root.id in self.context.pinned)

    def check_format(self, node):
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.refuse(node, "`.format` on a string that is not written out is not allowed in answers: "
                              "use an f-string")
            return
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(node.value.value) if f]
        except ValueError:
            return
        for name in fields:
            parts = name.replace("[", ".").split(".")[1:]
            if any(p.startswith("_") or p in REFUSED_ATTRIBUTES for p in parts):
                self.refuse(node, f"the format field `{{{name}}}` reaches an attribute that is not allowed")

    # -- changing what is not the student's --------------------------------------------
    def check_target(self, target, verb):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.check_target(element, verb)
            return
        if isinstance(target, ast.Starred):
            self.check_target(target.value, verb)
            return
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            base = target
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if not isinstance(base, ast.Name):  # type(x).attr = ..., f().attr = ...: someone else's object
                self.refuse(target, f"{verb} `{ast.unparse(target)}` is not allowed in answers")
            elif self.settable(target) or self.shadowed(base.id):
                return
            elif base.id in self.aliases:
                self.refuse(target, f"{verb} `{ast.unparse(target)}` changes `{base.id}`, imported from "
                                    f"`{self.aliases[base.id]}`: not allowed in answers")
            elif base.id in self.context.pinned:
                self.refuse(target, f"{verb} `{ast.unparse(target)}` changes `{base.id}`, which the notebook's "
                                    f"locked cells define: not allowed in answers")

    def settable(self, target):
        while isinstance(target, ast.Subscript):
            target = target.value
        dotted = _dotted(target)
        path = dotted and self.resolve(dotted)
        return bool(path) and path in SETTABLE

    def visit_Assign(self, node):
        for target in node.targets:
            self.check_target(target, "assigning to")
        self.track_alias(node.targets, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self.check_target(node.target, "assigning to")
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self.check_target(node.target, "assigning to")
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self.check_target(target, "deleting")
        self.generic_visit(node)

    def track_alias(self, targets, value):
        """``T = torch.Tensor`` or ``T = type(x)``: later ``T.attr = ...`` patches a class, so T is foreign."""
        dotted = _dotted(value)
        is_type = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "type"
        path = (dotted and self.resolve(dotted)) or ("builtins.type()" if is_type else None)
        for target in targets:
            if isinstance(target, ast.Name):
                if path:
                    self.aliases[target.id] = path
                else:
                    self.aliases.pop(target.id, None)

    def visit_Global(self, node):
        for name in node.names:
            if name in self.context.pinned or name in self.context.modules:
                self.refuse(node, f"`global {name}` rebinds a name the locked cells define: not allowed in answers")

    visit_Nonlocal = visit_Global

    def visit_keyword(self, node):
        if isinstance(node.value, ast.Constant) and (node.arg, node.value.value) in REFUSED_KEYWORDS \
                and type(node.value.value) is bool:
            self.refuse(node.value, f"{REFUSED_KEYWORDS[(node.arg, node.value.value)]} is not allowed in answers")
        self.generic_visit(node)


def check_cell(source, policy=None, context=None, exercise=None, cell=None):
    """The violations of one cell's source (an empty list when it may run)."""
    policy = policy or Policy()
    context = context or Context()
    if uses_ipython_syntax(source):
        lines = source.split("\n")
        line = next((n for n, text in enumerate(lines, 1) if text.lstrip()[:1] in ("%", "!", "?")
                     or text.rstrip().endswith("?") or "!" in text.split("=", 1)[-1][:2]), 1)
        return [Violation(cell, line, "IPython magics and shell escapes (`%`, `!`, `?`) are not allowed in answers")]
    try:
        tree = parse(source)
    except SyntaxError:
        return []  # it cannot run, so it cannot do harm: the kernel reports the syntax error
    checker = _Checker(policy, context, policy.forbidden.get(exercise, ()), cell)
    checker.visit(tree)
    return sorted(set(checker.violations), key=lambda v: (v.line, v.message))


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _source(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def digest(source):
    """How the policy recognises a code cell the course itself gives (unchanged by the student)."""
    import hashlib
    return hashlib.sha256(source.strip().encode("utf-8")).hexdigest()[:16]


def given_cells(notebook):
    """Digests of a source notebook's code cells that are neither locked nor answers."""
    return sorted({digest(_source(c)) for c in notebook["cells"] if c["cell_type"] == "code"
                   and not _nbgrader(c).get("locked") and not _nbgrader(c).get("solution")})


def _is_module(dotted):
    """Whether ``dotted`` names an importable module (so ``from a import b`` imports a module)."""
    import importlib.util
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError):
        return False


def locked_context(notebook):
    """The aliases and pinned names of a notebook's locked code cells, test cells left out.

    Test cells are left out so that the grader (which has the hidden tests) and a student's own
    check (which has not) reach the same verdict.
    """
    context = Context()
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code" or not _nbgrader(cell).get("locked") or _nbgrader(cell).get("grade"):
            continue
        try:
            tree = parse(_source(cell))
        except SyntaxError:
            continue
        context.modules.update(_import_aliases(tree))
        context.pinned |= _bound_names(tree)
    context.pinned -= set(context.modules)
    return context


def exercise_of(notebook, index):
    """The answer grade id a code cell belongs to: its own, or the next answer cell's after it."""
    cells = notebook["cells"]
    for cell in cells[index:]:
        grade_id = _nbgrader(cell).get("grade_id", "")
        if _nbgrader(cell).get("solution"):
            return grade_id
        if _nbgrader(cell).get("grade"):
            return grade_id + "-answer"
    return None


def check_notebook(notebook, policy=None, source=None):
    """index -> violations, for every code cell a student could have written or changed.

    Violations name cells counted from 1 at the top of the notebook, markdown cells included.

    ``source`` is the trusted notebook whose locked cells and metadata define the policy (the
    grader passes the source notebook; a student's own copy is its own source).
    """
    source = source or notebook
    policy = policy or Policy.from_notebook(source)
    context = locked_context(source)
    found = {}
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code" or _nbgrader(cell).get("locked"):
            continue
        if not _nbgrader(cell).get("solution") and digest(_source(cell)) in policy.given:
            continue  # the course's own plotting or widget cell, as given
        violations = check_cell(_source(cell), policy, context, exercise_of(notebook, index), index + 1)
        if violations:
            found[index] = violations
    return found


def check(path):
    """Print what the grader would refuse to run in the notebook at ``path``; True when nothing.

    Run it from the notebook itself (``check("01_backprop.ipynb")``, after saving) or from a
    terminal (``python -m utils.policy 01_backprop.ipynb``).
    """
    import json
    with open(path, encoding="utf-8") as handle:
        found = check_notebook(json.load(handle))
    for violations in found.values():
        for violation in violations:
            print(f"{path}: {violation}")
    if not found:
        print(f"{path}: every cell follows the answer policy")
    return not found


def main(argv=None):
    """``python -m utils.policy NOTEBOOK...``: print what the grader would refuse to run; exit 1 if any."""
    paths = argv if argv is not None else sys.argv[1:]
    if not paths:
        print("usage: python -m utils.policy NOTEBOOK.ipynb ...")
        return 2
    return int(not all([check(path) for path in paths]))


if __name__ == "__main__":
    sys.exit(main())
