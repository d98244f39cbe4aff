"""Run a notebook kernel inside a bubblewrap sandbox.

Why: plain nbgrader executes student code with the instructor's privileges inside the course
directory, where it can read the hidden tests, rewrite the gradebook and open connections.
Here the kernel starts under ``bwrap`` from an *empty* root that holds only what Python needs,
read-only (``/usr``, ``/etc``, the interpreter's prefix, the course's ``utils`` and ``data``, the
grader's matplotlib font list).
The course directory, the gradebook, ``solutions/``, other submissions, ``/root`` and ``/home``
are simply not there. The only writable places are two size-capped tmpfs (the working
directory, a scratch copy of the assignment's files, and ``/tmp``). There is no network
(``--unshare-net``), the kernel sees only its own processes (``--unshare-pid``, and it all
dies with the grader), and it runs as an unprivileged user id of its own with rlimits on memory,
CPU time, processes and file size (``RLIMIT_NPROC`` does nothing for root, hence the user id).
The kernel talks to the grader over ZMQ ``ipc`` sockets in a folder that is bound into the
sandbox at the same path (so the connection file is valid on both sides) and made read-only
for the kernel once it has started.
"""
import functools
import itertools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from autograder.course import REPO

SANDBOX_HOME = "/home/student"  # the kernel's working directory inside the sandbox
COURSE_MOUNT = "/run/course"  # where the course's importable packages appear inside the sandbox
# What a graded notebook imports or reads from the course checkout: the student-safe helpers, the
# offline data and the grader-only oracles the hidden tests use. Nothing else of the checkout.
COURSE_PACKAGES = ("utils", "data", "oracles")
FONT_SEED = "/run/matplotlib"  # the grader's matplotlib font list, copied into each kernel's MPLCONFIGDIR


def course_mounts():
    """(path in this checkout, path in the sandbox) for each course package that exists.

    They are bound at a fixed place and put first on ``PYTHONPATH`` so that the kernel imports
    *this* checkout's ``utils`` wherever the checkout lives (a second clone, under ``/tmp``) and
    whatever an editable install elsewhere points at.
    """
    return [(str(REPO / name), f"{COURSE_MOUNT}/{name}") for name in COURSE_PACKAGES if (REPO / name).is_dir()]


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one notebook run (the defaults suit this course's notebooks)."""
    memory_mb: int = 4096         # RLIMIT_DATA (heap and anonymous maps) per process in the sandbox
    cpu_seconds: int = 600        # RLIMIT_CPU per process
    processes: int = 256          # RLIMIT_NPROC: threads count too (torch, ipykernel)
    file_mb: int = 64             # RLIMIT_FSIZE: the largest file the kernel may write
    scratch_mb: int = 256         # size of the writable working directory (tmpfs)
    tmp_mb: int = 64              # size of /tmp and /dev/shm (tmpfs)
    cell_timeout: int = 120       # seconds of wall-clock per cell
    notebook_timeout: int = 600   # seconds of wall-clock per notebook
    output_mb: float = 16         # total output a notebook may send before its kernel is stopped

    def to_dict(self):
        return asdict(self)


def _readonly_paths():
    """What the kernel may read: the system, the interpreter, the course's public packages."""
    paths = {"/usr", "/etc", "/opt"}
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        paths.add(prefix)
    here, repo = os.path.realpath(os.getcwd()), os.path.realpath(REPO)
    for entry in sys.path:  # installed packages; never the working directory, "/" or the course
        real = os.path.realpath(entry) if entry else here
        if os.path.isdir(real) and real not in (here, "/") and not real.startswith(repo) \
                and not repo.startswith(real + "/"):
            paths.add(real)
    kept = []
    for path in sorted(os.path.realpath(p) for p in paths if os.path.exists(p)):
        if not any(path == k or path.startswith(k + "/") for k in kept):
            kept.append(path)
    return kept


def _mkdirs(path, made):
    """bwrap arguments creating ``path``'s ancestors world-readable (bwrap makes them 0700)."""
    args = []
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        folder = str(Path(*parts[:depth]))
        if folder not in made:
            made.add(folder)
            args += ["--perms", "0755", "--dir", folder]
    return args


@functools.cache
def font_list():
    """This machine's matplotlib font list (built now if it is missing), or None.

    Why: a kernel starts with an empty MPLCONFIGDIR, where matplotlib would build the list again
    by opening every font file: a quarter of a second of each sandboxed kernel, measured here. The
    list names the fonts by path, and the sandbox binds them at the same paths.
    """
    try:
        import matplotlib
        from matplotlib import font_manager
    except ImportError:
        return None
    path = Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"
    return path if path.is_file() else None


def bwrap_argv(limits, sockets, files=None, fonts=None):
    """The bwrap command line up to (excluding) the program to run inside (``fonts``: a font list
    for the launcher to copy into MPLCONFIGDIR)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap")
    argv = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
            "--clearenv"]
    made = set()
    for top in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / top
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for path in _readonly_paths():
        if path.split("/")[1] in ("bin", "lib", "lib64", "sbin") and Path("/" + path.split("/")[1]).is_symlink():
            continue
        argv += _mkdirs(path, made) + ["--ro-bind", path, path]
    for outside, inside in course_mounts():
        argv += _mkdirs(inside, made) + ["--ro-bind", outside, inside]
    argv += ["--dev", "/dev", "--proc", "/proc",
             "--size", str(limits.tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp",
             "--size", str(limits.tmp_mb << 20), "--perms", "1777", "--tmpfs", "/dev/shm"]
    argv += _mkdirs(SANDBOX_HOME + "/x", made)
    argv += ["--size", str(limits.scratch_mb << 20), "--perms", "0777", "--tmpfs", SANDBOX_HOME]
    if files:  # the assignment's public extra files, copied into the scratch folder by the launcher
        argv += _mkdirs("/run/files/x", made) + ["--ro-bind", str(files), "/run/files"]
    if fonts:
        argv += _mkdirs(FONT_SEED + "/x", made) + ["--ro-bind", str(fonts), f"{FONT_SEED}/{Path(fonts).name}"]
    sockets = os.path.realpath(sockets)  # at the same path inside, so the connection file holds
    argv += _mkdirs(sockets + "/x", made) + ["--bind", sockets, sockets]
    environment = {
        "HOME": SANDBOX_HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": "/tmp/ipython", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "NBGRADER_EXECUTION": "autograde", "PYTHONPATH": COURSE_MOUNT, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2",
    }
    for key, value in environment.items():
        argv += ["--setenv", key, value]
    return argv + ["--chdir", SANDBOX_HOME]


# Runs first inside the sandbox: copy the public files, set the rlimits, drop root, seed matplotlib's
# font list (as the kernel's user: matplotlib wants a config folder it may write), start the kernel.
LAUNCHER = f"""\
import json, os, resource, runpy, shutil, sys
uid, limits = int(sys.argv[1]), json.loads(sys.argv[2])
if os.path.isdir("/run/files"):
    shutil.copytree("/run/files", ".", dirs_exist_ok=True)
for name, value in limits.items():
    resource.setrlimit(getattr(resource, name), (value, value))
os.setgroups([]); os.setresgid(uid, uid, uid); os.setresuid(uid, uid, uid)
if os.path.isdir({FONT_SEED!r}):
    shutil.copytree({FONT_SEED!r}, os.environ["MPLCONFIGDIR"], dirs_exist_ok=True)
sys.argv = ["ipykernel_launcher"] + sys.argv[3:]
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
"""


def rlimits(limits):
    return {"RLIMIT_DATA": limits.memory_mb << 20, "RLIMIT_CPU": limits.cpu_seconds,
            "RLIMIT_NPROC": limits.processes, "RLIMIT_FSIZE": limits.file_mb << 20,
            "RLIMIT_CORE": 0}


_launches = itertools.count()


def sandbox_uid():
    """A fresh unprivileged user id for each kernel, so that the process limit of one sandbox
    never counts another sandbox's processes (in any worker process or thread)."""
    return 100000 + ((os.getpid() % (1 << 21)) << 10) + next(_launches) % 1024


class SharedContextKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel and client share this process's one ZMQ context.

    jupyter_client otherwise makes a context per manager and per client and leaves them to the
    garbage collector, whose ``Context.__del__`` can wait forever on sockets it no longer sees:
    a worker hung after a job.
    """

    @default("context")
    def _process_context(self):
        return zmq.asyncio.Context.instance()

    def client(self, **kwargs):
        return super().client(**{"context": self.context, **kwargs})


class SandboxKernelManager(SharedContextKernelManager):
    """A kernel manager whose kernel starts inside bwrap and listens on ipc sockets.

    Set ``sandbox_limits``, ``sandbox_files`` and ``connection_file`` (in a fresh folder)
    before starting it.
    """

    sandbox_limits = Limits()
    sandbox_files = None

    def format_kernel_cmd(self, extra_arguments=None):
        sockets = Path(self.connection_file).parent
        uid = sandbox_uid()
        os.chown(self.connection_file, uid, uid)  # it holds the key; 0600
        inner = [sys.executable, "-c", LAUNCHER, str(uid), json.dumps(rlimits(self.sandbox_limits)),
                 "-f", os.path.realpath(self.connection_file), "--HistoryManager.hist_file=:memory:"]
        return bwrap_argv(self.sandbox_limits, sockets, self.sandbox_files, font_list()) + inner


def check_sandbox():
    """Start a trivial program in the sandbox; raise ``SandboxUnavailable`` saying why not."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="dlf-sbx-check-") as sockets:
        try:
            argv = bwrap_argv(Limits(), sockets) + [sys.executable, "-c", "import sys; sys.exit(0)"]
            run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as error:
            raise SandboxUnavailable(f"bubblewrap could not start: {error}") from None
        if run.returncode != 0:
            raise SandboxUnavailable(f"bubblewrap could not start a sandbox here: {run.stderr.strip()[:300]}")
