"""What may no graded code of any assignment use? Constructs whose effect the grader cannot verify.

``ESCAPES`` is the rule every notebook states (its ``statement``) with the names behind it;
``REASONS`` maps each construct (a resolved qualified name or an attribute name) to the reason the
static analysis reports; ``DYNAMIC_ATTRIBUTE`` are the builtins allowed only with a literal name.
"""

from __future__ import annotations

from adl4cv_utils.rules.model import Rules

ESCAPES = Rules(
    "*",
    (),
    "In every assignment the graded code (your classes and functions, and what they call) must not use "
    "`exec`, `eval`, `compile`, `__import__` or `importlib`, `getattr`/`setattr` with computed names, "
    "`sys.setprofile`/`sys.settrace`, `gc`, `inspect`, `ctypes`, `subprocess`, `multiprocessing`, threads, or "
    "patch other modules (assign to their attributes), and must not import the course's checks: the grader "
    "cannot verify such code and gives it no points.",
    names=("builtins.exec", "builtins.eval", "builtins.compile", "builtins.__import__", "builtins.breakpoint")
    + ("importlib.*", "sys.setprofile", "sys.settrace", "sys._getframe", "sys.modules", "threading.*", "_thread.*")
    + ("gc.*", "inspect.*", "ctypes.*", "subprocess.*", "multiprocessing.*", "concurrent.*", "os.system", "os.fork")
    + ("os.popen", "os.exec*", "os.spawn*", "os.kill", "types.CodeType", "types.FunctionType", "marshal.*")
    + ("pickle.*", "adl4cv_utils.checks.*", "adl4cv_grading.*", "torch.ops.*", "torch.library.*"),
    modules=("adl4cv_utils.checks", "adl4cv_grading"),
)

# Constructs that hide what code does; any use, anywhere in the student's cells, voids the judge's
# ability to certify the submission. Matched against resolved qualified names and attribute names.
REASONS: dict[str, str] = {
    "exec": "runs code built at run time",
    "eval": "runs code built at run time",
    "compile": "runs code built at run time",
    "__import__": "imports modules by computed names",
    "importlib": "imports modules by computed names",
    "builtins": "changes Python's builtins",
    "__builtins__": "changes Python's builtins",
    "globals": "reaches the notebook's globals by name",
    "vars": "reaches objects' attributes by name",
    "sys.modules": "reaches modules by name",
    "sys.setprofile": "changes the tracer",
    "sys.settrace": "changes the tracer",
    "sys.monitoring": "changes the tracer",
    "sys._getframe": "inspects frames",
    "threading": "runs code in other threads",
    "_thread": "runs code in other threads",
    "concurrent": "runs code in other threads",
    "multiprocessing": "runs code in other processes",
    "subprocess": "runs other programs",
    "os.system": "runs other programs",
    "os.popen": "runs other programs",
    "os.fork": "runs other processes",
    "os.exec": "runs other programs",
    "os.spawn": "runs other programs",
    "os.posix_spawn": "runs other programs",
    "os.write": "writes to file descriptors",
    "os.dup": "writes to file descriptors",
    "pty": "runs other programs",
    "gc": "reaches objects through the garbage collector",
    "inspect": "inspects code objects",
    "ctypes": "touches memory directly",
    "cffi": "touches memory directly",
    "marshal": "loads code objects",
    "pickle": "loads objects that run code",
    "dill": "loads objects that run code",
    "types.FunctionType": "builds functions from code objects",
    "types.CodeType": "builds code objects",
    "__code__": "edits function code",
    "__globals__": "reaches a function's globals",
    "__closure__": "edits closures",
    "__subclasses__": "reaches library classes through reflection",
    "__bases__": "changes class hierarchies",
    "__mro__": "reaches library classes through reflection",
    "__dict__": "reaches attributes by name",
    "__class__": "changes object types",
    "__getattribute__": "reaches attributes by name",
    "torch._C": "calls torch's internals",
    "torch.ops": "calls aten operators by name",
    "torch._ops": "calls aten operators by name",
    "torch.library": "registers operators",
    "torch.utils._python_dispatch": "intercepts torch's dispatcher",
    "torch.overrides": "intercepts torch functions",
    "torch.hub": "loads code",
    "torch.jit": "loads compiled code",
    "torch.compile": "compiles code",
    "adl4cv_utils.probing": "touches the grading worker",
    "adl4cv_grading": "touches the grader",
    "IPython": "changes the notebook machinery",
    "get_ipython": "changes the notebook machinery",
    "signal": "changes signal handling",
    "atexit": "runs code at exit",
    "socket": "opens network connections",
}
# getattr/setattr/delattr are allowed only with a literal attribute name (and set/del only on self).
DYNAMIC_ATTRIBUTE = ("getattr", "setattr", "delattr", "hasattr")
