"""Does the sandbox show only its allowlist, keep no process, reach no network and hold to its limits?

The first tests read the command line ``wrap`` builds; the others run small Python programs in the
sandbox (skipped where it cannot start, with the reason).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from adl4cv_grading import sandbox
from adl4cv_grading.limits import Limits
from adl4cv_grading.nbgrader_run import REPO_ROOT

needs_sandbox = pytest.mark.skipif(not sandbox.available(), reason=f"no sandbox: {sandbox.why_unavailable()}")


def run(code: str, limits: Limits | None = None, scratch: Path | None = None) -> subprocess.CompletedProcess:
    cmd = sandbox.wrap([sys.executable, "-c", code], scratch=scratch, limits=limits or Limits())
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_wrap_command_line():
    """Does wrap() ask for no network, its own pid tree, death with the parent, and bind only the package?"""
    cmd = sandbox.wrap(["python3", "-V"], scratch=None, limits=Limits())
    assert cmd[0] == "bwrap" and cmd[-2:] == ["python3", "-V"]
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv"):
        assert flag in cmd
    sources = [cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind")]
    assert str(REPO_ROOT / "adl4cv_utils") in sources
    assert not [s for s in sources if Path(s) == REPO_ROOT or (REPO_ROOT in Path(s).parents and ".venv" not in s)][1:]
    grading = Path(sandbox.__file__).parent
    assert not [p.name for p in grading.glob("*.py") if "preexec_fn=" in p.read_text()]  # no preexec_fn from threads


def test_wrap_refuses_bad_arguments(tmp_path):
    """Are an empty command, a wrong limits object and a missing scratch folder refused by name?"""
    with pytest.raises(ValueError, match="argv"):
        sandbox.wrap([], scratch=None, limits=Limits())
    with pytest.raises(ValueError, match="limits"):
        sandbox.wrap(["true"], scratch=None, limits={"memory_mb": 1})
    with pytest.raises(ValueError, match="scratch"):
        sandbox.wrap(["true"], scratch=tmp_path / "missing", limits=Limits())


def test_why_unavailable_is_one_line():
    """Is the reason empty exactly when the sandbox is available, and one line otherwise?"""
    assert (sandbox.why_unavailable() == "") == sandbox.available()
    assert "\n" not in sandbox.why_unavailable()


@needs_sandbox
def test_sees_only_the_allowlist(tmp_path):
    """Is the repository reduced to the package: no tests/, solutions/, judge, HOME or host /tmp?"""
    (tmp_path / "secret.txt").write_text("x")
    probe = f"""
import json, os
paths = {json.dumps([str(REPO_ROOT / n) for n in ("tests", "solutions", "instructor", "README.md", ".git")])}
paths += [{str(tmp_path / "secret.txt")!r}, "/root/.ssh", "/home", "/etc/passwd", "/var"]
print(json.dumps({{"seen": [p for p in paths if os.path.exists(p)], "uid": os.getuid(), "cwd": os.getcwd(),
      "tmp": os.listdir("/tmp"), "root": sorted(os.listdir("/")), "etc": os.access("/etc/ld.so.cache", os.R_OK)}}))
import adl4cv_utils.checks
"""
    proc = run(probe)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout)
    # /tmp is private and empty, but for the way to an interpreter or checkout that lives under /tmp
    bound = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, REPO_ROOT)}
    ways = {p.relative_to("/tmp").parts[0] for p in bound if p.is_relative_to("/tmp")}
    assert seen["seen"] == [] and set(seen["tmp"]) <= ways and seen["cwd"] == "/scratch"
    assert "home" not in seen["root"] and "var" not in seen["root"] and seen["etc"]  # what it needs is readable
    if os.geteuid() == 0:
        assert seen["uid"] >= sandbox.BASE_UID


@needs_sandbox
def test_an_installed_grader_is_hidden(tmp_path):
    """With the grader installed non-editably into a mounted environment, can a kernel import or read it? (No.)"""
    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    for name in ("adl4cv_grading", "adl4cv_grading-0.1.dist-info"):
        (site / name).mkdir(parents=True)
    (site / "adl4cv_grading" / "__init__.py").write_text("ANSWER = 42\n")
    (site / "adl4cv_grading" / "reference.py").write_text("def conv2d(): ...\n")
    assert sandbox.instructor_only([tmp_path / "env"]) == [
        site / n for n in ("adl4cv_grading", "adl4cv_grading-0.1.dist-info")
    ]
    probe = f"""
import os, sys
sys.path.insert(0, {str(site)!r})
print(sorted(os.listdir({str(site / "adl4cv_grading")!r})))
import adl4cv_grading  # at most an empty namespace package
print(getattr(adl4cv_grading, "ANSWER", "NO-ANSWER"), os.path.exists({str(site / "adl4cv_grading" / "reference.py")!r}))
"""
    cmd = sandbox.wrap([sys.executable, "-c", probe], scratch=None, limits=Limits(), ro_binds=[tmp_path / "env"])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["[]", "NO-ANSWER", "False"], proc.stdout


@needs_sandbox
def test_loopback_listener_receives_nothing():
    """Can sandboxed code connect to a listener on the host's 127.0.0.1? (no)"""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    port = server.getsockname()[1]
    code = f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
    proc = run(code + "    print('connected')\nexcept OSError as e:\n    print('refused', e)")
    with pytest.raises(TimeoutError):
        server.accept()
    server.close()
    assert "refused" in proc.stdout, proc.stdout + proc.stderr


@needs_sandbox
def test_no_process_outlives_the_command():
    """Do a new-session child and a double-forked grandchild end when the sandboxed command ends?"""
    mark = f"adl4cv-sandbox-{uuid.uuid4().hex}"
    code = f"""
import os, subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(300)", "{mark}"]
subprocess.Popen(sleeper, start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, sleeper)
    os._exit(0)
time.sleep(1)
print(sum("{mark}" in open(f"/proc/{{p}}/cmdline").read() for p in os.listdir("/proc") if p.isdigit()))
"""
    proc = run(code)
    left = [p for p in Path("/proc").glob("[0-9]*/cmdline") if p.exists() and mark.encode() in _read(p)]
    for path in left:  # (if any: not left on the machine either)
        os.kill(int(path.parent.name), 9)
    assert int(proc.stdout.strip() or 0) >= 4, proc.stdout + proc.stderr  # 2 sleepers, this program, its init
    assert left == []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


@needs_sandbox
def test_limits_hold(tmp_path):
    """Are the file size, process count and scratch size limits applied, the scratch folder writable?"""
    limits = Limits(file_mb=1, processes=40, scratch_mb=4)
    code = """
import os, threading, time
out = {}
try:
    open("/tmp/big", "wb").write(b"x" * 2_000_000)
    out["file"] = "written"
except OSError as e:
    out["file"] = type(e).__name__
try:
    for i in range(8):
        open(f"many{i}", "wb").write(b"x" * 900_000)
    out["scratch"] = "written"
except OSError as e:
    out["scratch"] = type(e).__name__
threads = []
try:
    for _ in range(200):
        t = threading.Thread(target=time.sleep, args=(2,), daemon=True)
        t.start()
        threads.append(t)
    out["threads"] = len(threads)
except RuntimeError:
    out["threads"] = len(threads)
print(out)
"""
    proc = run(code, limits)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = eval(proc.stdout)  # noqa: S307 - our own program's dict
    assert out["file"] != "written" and out["scratch"] == "OSError"
    if os.geteuid() == 0:  # without root the count includes the user's other processes
        assert out["threads"] < 40
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert run("open('result.txt', 'w').write('ok')", scratch=scratch).returncode == 0
    assert (scratch / "result.txt").read_text() == "ok"


@needs_sandbox
@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists(), reason="needs root to become nobody")
def test_works_without_root(monkeypatch):
    """Does the sandbox also start for an unprivileged user (user namespace), with no network?

    Run as 'nobody' with the system's python3 (the test's interpreter may live in root's HOME).
    """
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 65534)
    monkeypatch.setattr(sandbox, "python_paths", lambda: [])
    code = "import os, socket\nimport adl4cv_utils.assignments\nprint(os.getuid())\n"
    code += "try:\n    import adl4cv_grading\nexcept ImportError:\n    print('no-grader')\n"
    code += "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=2)\nexcept OSError:\n    print('no network')"
    cmd = sandbox.wrap(["/usr/bin/python3", "-c", code], scratch=None, limits=Limits())
    assert "--unshare-user" in cmd and "setpriv" not in cmd
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    proc = subprocess.run(as_nobody, capture_output=True, text=True, cwd="/", timeout=60, check=False)
    if "setting up uid map" in proc.stderr or "No permissions to create" in proc.stderr:
        pytest.skip(f"this system allows no unprivileged user namespaces: {proc.stderr.strip()}")
    assert proc.returncode == 0 and proc.stdout.split() == ["65534", "no-grader", "no", "network"], proc.stderr
