"""How does the grading kernel run a probe so that the student's code can neither escape nor forge it?

``install()`` runs before any student code (``python -m adl4cv_utils.guard``, the sandbox's kernel
command). It adds one PEP 578 audit hook, which Python offers no way to remove, and keeps all of the
guard's state inside it, reachable only through the hook's own frames (which policy.py refuses to
hand out). The judge talks to it through two audit events that its one-line cells raise:

* ``adl4cv.hello(assignment, sandboxed)``: the judge's first cell, before any notebook cell ran. The
  guard resolves the assignment's rules (enforce.py), draws the session key and publishes it; a
  second hello is refused, so no later code can learn the key.
* ``adl4cv.probe(frame)``: an encrypted request. The guard opens the window (forbidden operators and
  functions switched off, the recorder on, stray processes killed, other threads checked), runs the
  probe on the notebook's namespace, encodes its result, closes the window, checks that the recorder
  was not removed, and publishes the reply signed with the session key (seal.py).

Every other audit event is ruled on by policy.py. What the hook refuses raises ``RuntimeError``
naming the rule in the student's code; in the window it is also reported to the judge as tampering.
"""

from __future__ import annotations

import base64
import os
import signal
import sys
import types
from _thread import get_ident

from adl4cv_utils.guard import policy, seal
from adl4cv_utils.guard.enforce import Enforcement
from adl4cv_utils.guard.recorder import Recorder, library_roots
from adl4cv_utils.probing import channel, codec

MIME = channel.MIME
HELLO_MIME = "application/x-adl4cv-judge-hello"
_SECRET = frozenset({__file__, policy.__file__})
_MODULE_DICT = types.ModuleType.__dict__["__dict__"].__get__
_COMPILED_BYTES = 1 << 20  # the texts of compiled modules the evidence carries (the judge looks for copies)


class _State:
    """The guard's state; its repr shows nothing."""

    __slots__ = ("key", "assignment", "rules", "enforcement", "blocked", "sandboxed", "window", "tamper", "compiled")

    def __repr__(self) -> str:
        return "<adl4cv guard>"


def _getprofile():
    """``sys.getprofile`` in the grading kernel: the recorder is not handed out."""
    return None


def install() -> None:
    """Add the guard's audit hook (once per process, before any student code)."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    from adl4cv_utils.rules import RULES

    state, busy = _State(), set()
    state.key, state.window, state.tamper, state.compiled, state.blocked = None, False, [], [], frozenset()
    roots, real_setprofile, real_getprofile = library_roots(), sys.setprofile, sys.getprofile
    rules_by_name = dict(RULES)

    def refuse(what: str):
        if state.window:
            state.tamper.append(what)
        raise RuntimeError(f"{what} is not available in the grading kernel")

    def hello(assignment, sandboxed) -> None:
        if state.key is not None or type(assignment) is not str:
            refuse("a second adl4cv.hello")
        state.assignment, state.sandboxed = assignment, bool(sandboxed)
        state.rules = rules_by_name.get(assignment)
        state.enforcement = Enforcement.for_rules(state.rules) if state.rules is not None else None
        state.blocked = state.enforcement.files() if state.enforcement is not None else frozenset()
        state.key = seal.new_key()
        publish_display_data({HELLO_MIME: state.key.hex()})

    def kill_strays() -> None:
        me, tree = os.getpid(), {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", "rb") as f:
                        tree[int(entry)] = int(f.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        ancestors, pid = set(), me
        while pid in tree and pid not in ancestors:
            ancestors.add(pid)
            pid = tree[pid]
        for pid in tree:
            mine, p = False, pid
            for _ in range(64):
                if p == me:
                    mine = True
                    break
                p = tree.get(p, 0)
            if pid not in ancestors and pid != 1 and (mine or state.sandboxed):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def foreign_threads(recorder: Recorder) -> list[str]:
        found = []
        for ident, frame in sys._current_frames().items():
            if ident == get_ident():
                continue
            while frame is not None:
                if recorder._file(frame.f_code.co_filename) is None:
                    found.append("code of the notebook running in another thread")
                    break
                frame = frame.f_back
        return found

    def window(request: dict) -> tuple[bytes, Recorder, list[str]]:
        units = request.get("units") or ()
        enforce = state.enforcement if state.rules and set(units) & set(state.rules.graded) else None
        kill_strays()
        recorder = Recorder(roots)
        tamper = foreign_threads(recorder)
        namespace = getattr(get_ipython(), "user_ns", None)
        namespace = namespace if isinstance(namespace, dict) else {}
        depth = _dispatch_depth()
        if enforce is not None:
            enforce.on()
        recorder.mode.__enter__()
        if sys.gettrace() is not None:  # a tracer of the notebook's would see the guard's frames in the window
            sys.settrace(None)
            tamper.append("a trace function was set (sys.settrace)")
        real_setprofile(recorder.profile)
        state.window, state.tamper = True, tamper
        busy.discard(get_ident())
        try:
            body = channel.handle_probe(namespace, request)
        finally:
            busy.add(get_ident())
            state.window = False
            if real_getprofile() != recorder.profile:
                tamper.append("the recorder was removed (sys.setprofile)")
            real_setprofile(None)
            if _dispatch_depth() != depth + 1 or _dispatch_top() is not recorder.mode:
                tamper.append("the dispatch mode was removed")
            _exit_mode(recorder.mode)
            if enforce is not None:
                enforce.off()
        return body, recorder, tamper + foreign_threads(recorder)

    def probe(text) -> None:
        if state.key is None or state.window or type(text) is not str:
            refuse("adl4cv.probe outside the judge's protocol")
        try:
            nonce, body = seal.unpack(base64.b64decode(text, validate=True))
            request = codec.decode(seal.decrypt(state.key, nonce, body))
        except Exception:  # noqa: BLE001 - not the judge's request: nothing to answer
            return
        if not isinstance(request, dict):
            return
        reply, recorder, tamper = window(request)
        evidence = codec.encode({"trace": recorder.as_dict(), "tamper": tamper, "compiled": list(state.compiled)})
        payload = len(reply).to_bytes(8, "big") + reply + evidence
        signature = seal.sign(state.key, nonce, payload)
        publish_display_data({MIME: base64.b64encode(nonce + signature + payload).decode()})

    def from_student(caller) -> bool:
        file = caller.f_code.co_filename if caller is not None else ""
        return not (file.startswith(roots) or file.startswith("<frozen "))

    def attribute(event: str, args, caller) -> None:
        obj, name = args[0], args[1]
        if event == "object.__getattr__":
            if name in policy.FRAME_ATTRIBUTES:
                frame = getattr(obj, name, None)
                secret = frame is not None and policy.frame_is_secret(frame, _SECRET)
                if secret and from_student(policy.deciding_caller(caller)):
                    refuse(f"the frames of the grader ({name})")
            return
        if name in policy.CODE_ATTRIBUTES and type(obj) is types.FunctionType:
            code = types.FunctionType.__dict__["__code__"].__get__(obj)
            if (code.co_filename.startswith(roots) or state.window) and from_student(caller):
                refuse(f"changing the code of {code.co_qualname}")
        elif name == "__class__" and isinstance(obj, types.ModuleType):
            file = _MODULE_DICT(obj).get("__file__")
            if type(file) is str and file.startswith(roots) and from_student(caller):
                refuse("changing the class of a library module")

    def note_compiled(source, filename: str) -> None:
        # Code compiled from outside the libraries (a module the notebook wrote, exec'd text): the judge asks
        # whether it is a copy of a library's source (review only). Cells are judged from the notebook itself.
        if type(source) is bytes:
            source = source.decode("utf-8", "replace")
        if (
            type(source) is not str
            or source.count("\n") < 12
            or filename.startswith(roots)
            or "/ipykernel_" in filename
        ):
            return
        if sum(len(s) for _, s in state.compiled) + len(source) <= _COMPILED_BYTES:
            entry = [filename, source]
            if entry not in state.compiled:
                state.compiled.append(entry)

    def rule(event: str, args, caller) -> None:
        if event in policy.ALWAYS and not policy.trusted_ctypes_caller(event, caller):
            refuse(event)
        if event in policy.IN_WINDOW and state.window:
            refuse(event)
        if (
            event == "sys._getframe"
            and policy.frame_is_secret(args[0], _SECRET)
            and from_student(policy.deciding_caller(caller))
        ):
            refuse("the frames of the grader (sys._getframe)")
        elif event.startswith("object.__"):
            attribute(event, args, caller)
        elif event in ("code.__new__", "compile") and len(args) > 1 and type(args[1]) is str:
            if args[1].startswith(roots) and from_student(caller):
                refuse(f"code that claims to be the library's ({args[1]})")
            if event == "compile":
                note_compiled(args[0], args[1])
        elif event == "open" and policy.is_secret_proc_path(args[0]):
            refuse(f"opening {args[0]!r}")
        elif event == "exec" and getattr(args[0], "co_filename", None) in state.blocked:
            refuse(f"running {args[0].co_filename} anew")
        elif event == "adl4cv.hello":
            hello(*args[:2])
        elif event == "adl4cv.probe":
            probe(args[0] if args else None)

    watched = policy.ALWAYS | policy.IN_WINDOW
    watched |= {"sys._getframe", "open", "exec", "adl4cv.hello", "adl4cv.probe", "code.__new__", "compile"}
    watched |= {"object.__getattr__", "object.__setattr__", "object.__delattr__"}

    def audit(event, args):
        if event not in watched:
            return
        me = get_ident()
        if me in busy:
            return
        busy.add(me)
        try:
            rule(event, args, sys._getframe(1))
        finally:
            busy.discard(me)

    class Hook:
        """The audit hook. CPython runs hooks with tracing off unless ``__cantrace__`` is true: the recorder must see
        the probe the hook runs. No other tracer can see the guard: sys.setprofile and sys.settrace are refused."""

        __slots__ = ()
        __call__ = staticmethod(audit)
        __cantrace__ = True

    sys.addaudithook(Hook())
    sys.getprofile = _getprofile


def _dispatch_depth() -> int:
    import torch

    return torch._C._len_torch_dispatch_stack()


def _dispatch_top():
    import torch

    depth = torch._C._len_torch_dispatch_stack()
    return torch._C._get_dispatch_stack_at(depth - 1) if depth else None


def _exit_mode(mode) -> None:
    try:
        mode.__exit__(None, None, None)
    except Exception:  # noqa: BLE001 - already removed by the student's code: reported as tampering
        pass
