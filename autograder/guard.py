"""Kernel-side integrity guard: undo a submission's tampering before every locked cell runs.

Why: a test cell runs in the same Python process as the student's code, so an earlier cell can
replace ``np.allclose`` or ``check_close``, patch a function's ``__code__``, register an IPython
input/AST transformer that rewrites or empties the later test cells, swallow exceptions with a
custom handler, or install a trace function. This module's source is sent to the kernel (it is
never imported there: the sandbox does not contain ``autograder``). ``install`` runs before
any student code and snapshots the trusted state (modules imported by the locked cells,
builtins, the IPython shell's hooks); the grader then calls the returned function, as a
*user expression* (which bypasses input transformers), before each locked cell. It restores
what was changed and returns the names it repaired, which the report flags.

This raises the bar; it is not a proof: code in the same process can always find and break
an in-process guard. The sandbox, not this guard, protects the course.
"""


def _settle_torch_optim(optim, import_dynamo):
    """Make PyTorch's own first-use patches now, before the snapshot.

    The first ``Optimizer`` of a class wraps that class's ``step`` in a profiling hook, and the
    first step imports ``torch._dynamo``, which rewraps ``torch.manual_seed`` (and registers
    properties on ``torch.compiler``'s cache classes). Done during a graded cell they would look
    like tampering; done here they are part of the trusted state. Importing ``torch._dynamo``
    costs a kernel a second or more, so it is done only for a notebook whose code may wake it
    (``execute.wakes_dynamo``).
    """
    if optim is None:
        return
    pending = [optim.Optimizer]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if "step" in vars(cls) and not getattr(cls.step, "hooked", None):
            cls.step = optim.Optimizer.profile_hook_step(cls.step)
            cls.step.hooked = True
    if import_dynamo:
        try:
            import torch._dynamo  # noqa: F401
        except Exception:  # not every build has it; then nothing rewraps manual_seed
            pass


def install(name, modules_to_trust, import_dynamo=True):
    """Import and snapshot ``modules_to_trust`` and the shell; bind ``name`` in builtins to the guard.

    The guard, called before each locked cell, repairs and returns what changed; called with
    ``after_locked_cell=True`` it also learns the names that cell bound (``np``, ``check_close``)
    and the modules it imported. Repairs found right after a graded cell mean the student's code
    tampered *during* the test: the grader then fails that test.
    """
    import builtins
    import importlib
    import itertools
    import operator
    import sys
    import types

    for module_name in modules_to_trust:
        try:
            importlib.import_module(module_name)
        except Exception:  # a module the notebook names but this machine lacks: nothing to guard
            pass
    _settle_torch_optim(sys.modules.get("torch.optim"), import_dynamo)
    roots = tuple({m.split(".")[0] for m in modules_to_trust}) + ("builtins", "IPython", "ipykernel")

    def trusted(module_name):
        return module_name.split(".")[0] in roots

    guarded = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, types.ModuleType)
    modules = {}   # module name -> (module, {attribute: value}) for the guarded attributes
    classes = {}   # class -> {attribute: value}
    codes = {}     # function -> its __code__, __defaults__, __kwdefaults__

    def snapshot_module(module_name, module):
        attributes = {}
        for key, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType) or callable(value):  # numpy's functions are C objects
                attributes[key] = value
                if isinstance(value, types.FunctionType):
                    codes[value] = (value.__code__, value.__defaults__, value.__kwdefaults__)
                elif isinstance(value, type) and trusted(getattr(value, "__module__", "") or "") \
                        and value not in classes:
                    classes[value] = {k: v for k, v in vars(value).items()
                                      if isinstance(v, (types.FunctionType, staticmethod, classmethod,
                                                        property, types.BuiltinFunctionType))}
        modules[module_name] = (module, attributes)

    # What the guard compares on every call, flattened so that one pass in C answers "did anything
    # change?" (some 10^5 attributes once torch is imported); the loops in ``guard``, which say what
    # changed and put it back, run only when something did. The built-ins it uses are bound now,
    # before any student code runs.
    flat = {}
    apply, every, pairwise, same = map, all, itertools.starmap, operator.is_
    in_dict, in_class = dict.get, types.MappingProxyType.get
    code_of, defaults_of, kwdefaults_of = (operator.attrgetter(a) for a in ("__code__", "__defaults__", "__kwdefaults__"))

    def flatten():
        """The snapshot as columns: (getter, [(namespace, key)], [value]) per kind of namespace."""
        columns = {}
        namespaces = [(vars(module), attributes) for module, attributes in modules.values()]
        for namespace, attributes in namespaces + [(vars(cls), attributes) for cls, attributes in classes.items()]:
            getter = in_dict if type(namespace) is dict else in_class if type(namespace) is types.MappingProxyType \
                else type(namespace).get
            keys, values = columns.setdefault(getter, ([], []))
            keys += [(namespace, key) for key in attributes]
            values += attributes.values()
        flat["attributes"] = [(getter, keys, values) for getter, (keys, values) in columns.items()]
        flat["names"], flat["modules"] = list(modules), [module for module, _ in modules.values()]
        flat["functions"] = list(codes)
        flat["codes"] = [code for code, _, _ in codes.values()]
        flat["defaults"] = [defaults for _, defaults, _ in codes.values()]
        flat["kwdefaults"] = [kwdefaults for _, _, kwdefaults in codes.values()]

    def unchanged():
        """True when every snapshotted module, attribute and function is the very object it was."""
        functions = flat["functions"]
        return (every(apply(same, apply(sys.modules.get, flat["names"]), flat["modules"]))
                and every(every(apply(same, pairwise(getter, keys), values)) for getter, keys, values in flat["attributes"])
                and every(apply(same, apply(code_of, functions), flat["codes"]))
                and every(apply(same, apply(defaults_of, functions), flat["defaults"]))
                and every(apply(same, apply(kwdefaults_of, functions), flat["kwdefaults"])))

    def snapshot_all():
        known = len(modules)
        for module_name, module in list(sys.modules.items()):
            if module is not None and trusted(module_name) and module_name not in modules \
                    and module_name != "builtins":  # the kernel rebinds some builtins: see below
                snapshot_module(module_name, module)
        if len(modules) > known or not flat:
            flatten()

    snapshot_all()
    volatile = {"input", "raw_input", "get_ipython", "display", "exit", "quit", "help"}  # the kernel rebinds
    builtin_names = {k: v for k, v in vars(builtins).items() if k not in volatile and not k.startswith("_")}
    shell = get_ipython()  # noqa: F821 (the kernel's shell)
    hooks = {attr: list(getattr(shell, attr)) for attr in
             ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")}
    events = {event: list(callbacks) for event, callbacks in shell.events.callbacks.items()}
    shell_state = {"compile": shell.compile, "flags": shell.compile.flags,
                   "custom_exceptions": shell.custom_exceptions, "CustomTB": shell.CustomTB}
    instance = set(vars(shell))
    bindings = {}  # notebook name -> trusted object, as bound by the locked cells

    def from_notebook(obj, depth=0):
        """Whether a callable was defined in the notebook (possibly wrapped in a partial or method)."""
        for candidate in (obj, getattr(obj, "__func__", None), getattr(obj, "func", None), type(obj)):
            if candidate is not None and getattr(candidate, "__module__", None) == "__main__":
                return True
        inner = getattr(obj, "func", None) or getattr(obj, "__func__", None)
        return depth < 3 and inner is not None and from_notebook(inner, depth + 1)

    def put_back(namespace, saved, label, repaired):
        """Rebind each name of ``saved`` that ``namespace`` no longer holds, noting it as ``label.name``."""
        for key, value in saved.items():
            if namespace.get(key) is not value:
                namespace[key] = value
                repaired.append(f"{label}.{key}")

    def guard(after_locked_cell=False, names=()):
        """Repair tampering; after a locked cell, also pin ``names``, the names that cell bound.

        Returns the repairs that mean tampering. A pinned name the student rebound is put back
        silently: binding ``exp`` or ``x`` in a cell of one's own is not cheating, and the tests
        must see the locked cells' objects.
        """
        import linecache
        linecache.clearcache()  # no locked cell's source stays where running code could read it
        repaired = []
        sys.settrace(None)
        sys.setprofile(None)
        import threading
        threading.settrace(None)
        threading.setprofile(None)
        if not unchanged():  # something was replaced: find what, and put it back
            for module_name, (module, attributes) in modules.items():
                if sys.modules.get(module_name) is not module:
                    sys.modules[module_name] = module
                    repaired.append(f"sys.modules[{module_name!r}]")
                put_back(vars(module), attributes, module_name, repaired)
            for cls, attributes in classes.items():
                for key, value in attributes.items():
                    if vars(cls).get(key) is not value:
                        try:
                            setattr(cls, key, value)
                            repaired.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
                        except (TypeError, AttributeError):
                            pass
            for function, (code, defaults, kwdefaults) in codes.items():
                if function.__code__ is not code or function.__defaults__ is not defaults \
                        or function.__kwdefaults__ is not kwdefaults:
                    function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
                    repaired.append(f"{function.__module__}.{function.__qualname__}.__code__")
        put_back(vars(builtins), builtin_names, "builtins", repaired)
        for attr, original in hooks.items():
            if list(getattr(shell, attr)) != original:
                getattr(shell, attr)[:] = original
                repaired.append(f"IPython {attr}")
        for event, callbacks in shell.events.callbacks.items():
            for callback in [c for c in callbacks if c not in events.get(event, []) and from_notebook(c)]:
                callbacks.remove(callback)  # libraries register callbacks too: drop only the notebook's
                repaired.append(f"IPython event {event}")
        if shell.compile is not shell_state["compile"] or shell.compile.flags != shell_state["flags"]:
            shell.compile = shell_state["compile"]
            shell.compile.flags = shell_state["flags"]
            repaired.append("IPython compiler")
        if shell.custom_exceptions != shell_state["custom_exceptions"] or shell.CustomTB != shell_state["CustomTB"]:
            shell.custom_exceptions, shell.CustomTB = shell_state["custom_exceptions"], shell_state["CustomTB"]
            repaired.append("IPython custom exception handler")
        for attr in set(vars(shell)) - instance:
            if callable(getattr(type(shell), attr, None)):
                delattr(shell, attr)
                repaired.append(f"IPython shell.{attr}")
        user = shell.user_ns
        for key, value in bindings.items():
            if user.get(key) is not value:
                user[key] = value
        if after_locked_cell:
            snapshot_all()  # modules the locked cell imported for the first time
            for key in names:
                value = user.get(key)
                if isinstance(value, guarded):
                    bindings[key] = value
        return repaired

    setattr(builtins, name, guard)
