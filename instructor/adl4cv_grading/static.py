"""What does the submitted source reach? A static analysis the grading kernel cannot influence.

The judge parses the cells the student wrote (answer cells and added cells; not the locked cells
of the release) with ``ast``, resolves aliases (``import torch.nn.functional as F``,
``from torch.optim import Adam as A``, ``opt = torch.optim``) and reports, per graded unit, every
forbidden name reachable from the unit's definition (its body, bases and decorators, and the
notebook-level functions, classes and variables it uses, transitively), and, for the whole
submission, every escape (adl4cv_utils.rules.REASONS): dynamic code, reflection, patching other modules.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from dataclasses import dataclass, field

from adl4cv_grading import copies
from adl4cv_utils import rules


@dataclass
class Finding:
    what: str  # the name or construct
    why: str
    cell: int
    line: int

    def __str__(self) -> str:
        return f"`{self.what}` ({self.why}; cell {self.cell + 1}, line {self.line})"


@dataclass
class Report:
    units: dict[str, list[Finding]] = field(default_factory=dict)  # unit -> forbidden uses
    escapes: list[Finding] = field(default_factory=list)
    copies: list[Finding] = field(default_factory=list)  # text matching a library's source (copies.py)


# Magics that run programs or other code; any other line magic (%matplotlib, %timeit, ...) is harmless.
RUNNING_MAGICS = (
    "%%bash",
    "%%sh",
    "%%script",
    "%%system",
    "%%python",
    "%%perl",
    "%%ruby",
    "%%writefile",
    "%run",
    "%system",
    "%sx",
    "%load",
    "%%capture",
    "%%javascript",
    "%%js",
    "%%html",
)


def _transform(source: str) -> str:
    """The cell as plain Python for ``ast``: magic and shell lines become ``pass`` (line numbers kept).

    Shell escapes (``!cmd``) and magics that run programs or code become a call to ``exec`` so that
    they count as escapes: what they run cannot be analysed.
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        running = lines[0].lstrip().startswith(RUNNING_MAGICS)
        return "exec('cell magic')" if running else ""
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("!") or (stripped.startswith("%") and stripped.split()[0] in RUNNING_MAGICS):
            out.append(f"{indent}exec('magic')")
        elif stripped.startswith("%"):
            out.append(f"{indent}pass")
        else:
            out.append(line)
    return "\n".join(out)


def _dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    if isinstance(node, ast.Call):  # e.g. super().x or f().x: resolve what we can of the call
        inner = _dotted(node.func)
        return None if inner is None else [*inner, "()", *reversed(parts)]
    return None


def _walk_with_parameters(tree: ast.AST, params: frozenset = frozenset()):
    """Every node of ``tree`` with the parameter names of the functions it is inside."""
    yield tree, params
    inner = params
    if isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = tree.args
        inner = params | {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x}
    for child in ast.iter_child_nodes(tree):
        yield from _walk_with_parameters(child, inner)


class _Aliases:
    """Local name -> qualified name, from imports and plain assignments (to a fixpoint)."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def qualify(self, node: ast.AST) -> str | None:
        parts = _dotted(node)
        if not parts:
            return None
        head = self.names.get(parts[0])
        if head is None:
            return ".".join(parts) if parts[0] in ("torch", "torchvision") else None
        return ".".join([head, *parts[1:]])

    def learn(self, trees: list[ast.AST]) -> None:
        for _ in range(5):
            before = dict(self.names)
            for tree in trees:
                for node, params in _walk_with_parameters(tree):
                    if isinstance(node, ast.Import):
                        for a in node.names:
                            if a.asname:
                                self.names[a.asname] = a.name
                            else:
                                self.names[a.name.split(".")[0]] = a.name.split(".")[0]
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        for a in node.names:
                            self.names[a.asname or a.name] = f"{node.module}.{a.name}"
                    elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                        root = _dotted(node.value)
                        # `was_training = model.training` in a function whose parameter is `model`: not a
                        # global alias (a notebook-level `model = SmallCNN()` says nothing about it)
                        q = None if root and root[0] in params else self.qualify(node.value)
                        for t in targets:
                            if isinstance(t, ast.Name) and q:
                                self.names[t.id] = q
            if self.names == before:
                return


_FOREIGN = "imports a module that is not part of the grading environment (its code cannot be analysed)"


@functools.lru_cache(maxsize=512)
def _installed(module: str) -> bool:
    """Is the top-level package of ``module`` installed (not a file the notebook could have written)?"""
    top = module.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    return spec is not None and top not in ("__main__",)


def _escapes(tree: ast.AST, aliases: _Aliases, cell: int, own: set[str]) -> list[Finding]:
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Name):
            names.append(aliases.names.get(node.id, node.id))
        elif isinstance(node, ast.Attribute):
            q = aliases.qualify(node)
            if q:
                names.append(q)
            if node.attr.startswith("__"):  # x.__code__, x.__dict__...; not model.eval() or re.compile
                names.append(node.attr)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
            found += [Finding(a.name, _FOREIGN, cell, node.lineno) for a in node.names if not _installed(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if node.level or not _installed(node.module):
                found.append(Finding(node.module or ".", _FOREIGN, cell, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            found.append(Finding(".", _FOREIGN, cell, node.lineno))
        for name in names:
            for escape, why in rules.REASONS.items():
                if name == escape or name.startswith(escape + "."):
                    found.append(Finding(escape, why, cell, getattr(node, "lineno", 0)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in rules.DYNAMIC_ATTRIBUTE:
            literal = len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
            on_self = bool(node.args) and isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", *own)
            if not literal or (node.func.id in ("setattr", "delattr") and not on_self):
                found.append(
                    Finding(node.func.id, "reaches attributes by computed names or patches objects", cell, node.lineno)
                )
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute):
                base = _dotted(t.value)
                if base and base[0] not in ("self", "cls", *own) and base[0] in aliases.names:
                    found.append(
                        Finding(
                            aliases.qualify(t) or base[0], "patches a module or class it did not define", cell, t.lineno
                        )
                    )
                elif base and base[0] in ("torch", "torchvision"):
                    found.append(Finding(".".join(base), "patches torch", cell, t.lineno))
    unique = {(f.what, f.cell, f.line): f for f in found}
    return list(unique.values())


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_transform(source))
    except SyntaxError:
        pass
    try:  # IPython-only syntax inside a statement (``x = %pwd``, ``y = !ls``): what IPython itself runs
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None  # it fails when it runs; nothing of it can be reached


def _parameters(node: ast.AST) -> set[str]:
    """The parameter names of the functions (and lambdas) in ``node``: inside them a global alias of the
    same name (``model = SmallCNN()`` in a demo cell) does not apply."""
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = sub.args
            names |= {arg.arg for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if arg}
    return names


def _binding(trees: list[tuple[int, ast.Module]], name: str) -> tuple[int, int]:
    """(cell, line) of the import that binds ``name`` in the student's cells; (-1, 0) when it is elsewhere."""
    for i, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if any((a.asname or a.name.split(".")[0]) == name for a in node.names):
                    return i, node.lineno
    return -1, 0


def analyse(assignment: str, cells: list[str], context: list[str] = (), positions: list[int] | None = None) -> Report:
    """Forbidden uses per unit and escapes anywhere in ``cells`` (the student-written sources).

    ``context``: the notebook's other (locked, release) cells; only their imports and aliases are
    learned (``from torch import nn`` in a setup cell makes ``nn.MultiheadAttention`` in an answer
    cell resolvable), nothing in them is reported. ``positions``: each cell's index in the notebook
    (a finding's ``cell``), so that a test is charged only with what comes before it."""
    if positions is None:
        positions = list(range(len(cells)))
    if len(positions) != len(cells):
        raise ValueError(f"positions: expected {len(cells)} indices, got {len(positions)}")
    trees = [(positions[i], tree) for i, tree in enumerate(map(_parse, cells)) if tree is not None]
    known = [tree for tree in map(_parse, context) if tree is not None]
    aliases = _Aliases()
    aliases.learn(known + [t for _, t in trees])  # the student's cells last: their rebinding wins
    defs = _definitions(trees)
    report = Report()
    for i, tree in trees:
        report.escapes += _escapes(tree, aliases, i, set(defs))
    for unit in rules.RULES[assignment].units if assignment in rules.RULES else ():
        report.units[unit] = _unit_findings(assignment, unit, defs, aliases, trees)
    report.copies = _copies(cells, positions)
    return report


def _copies(cells: list[str], positions: list[int]) -> list[Finding]:
    """Cells, or texts in them, that are copies of a library's source (plagiarism: for review, no points taken)."""
    found = []
    for source, position in zip(cells, positions):
        for text, line in copies.texts_of_cell(source):
            copy = copies.copied_from(text)
            if copy is not None:
                found.append(Finding(copy.library_file, copy.why, position, line))
                break  # once per cell
    return found


def _definitions(trees) -> dict[str, list[tuple[int, ast.AST]]]:
    """Notebook-level definitions: name -> [(cell, node)], the nodes whose code the name stands for."""
    defs: dict[str, list[tuple[int, ast.AST]]] = {}
    for i, tree in trees:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs.setdefault(node.name, []).append((i, node))
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in [t, *(t.elts if isinstance(t, (ast.Tuple, ast.List)) else [])]:
                        if isinstance(n, ast.Name):
                            defs.setdefault(n.id, []).append((i, node))
    return defs


def _unit_findings(assignment: str, unit: str, defs, aliases: _Aliases, trees) -> list[Finding]:
    """Every forbidden name reachable from ``unit``'s definition (and the definitions it uses, transitively)."""
    seen, todo, found = set(), [unit], []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        imported = aliases.names.get(name)  # e.g. `from some.module import evaluate`: the unit IS that name
        if name == unit and imported and rules.forbidden(assignment, unit, imported):
            cell, line = _binding(trees, name)
            found.append(Finding(imported, f"not allowed in {unit}", cell, line))
        for cell, node in defs.get(name, []):
            params = _parameters(node)
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and sub.id in defs and sub.id not in seen:
                    todo.append(sub.id)
                found += _node_findings(assignment, unit, sub, params, aliases, cell)
    return found


def _node_findings(assignment: str, unit: str, sub: ast.AST, params, aliases: _Aliases, cell: int) -> list[Finding]:
    """What one AST node of a unit's code reaches that the unit may not use."""
    found, q = [], None
    if isinstance(sub, ast.Attribute):
        root = _dotted(sub)
        shadowed = bool(root) and root[0] in params
        q = (None if shadowed else aliases.qualify(sub)) or f"?.{sub.attr}"
    elif isinstance(sub, ast.Name):
        q = None if sub.id in params else aliases.names.get(sub.id)
    elif isinstance(sub, ast.ImportFrom) and sub.module:
        for a in sub.names:
            if rules.forbidden(assignment, unit, f"{sub.module}.{a.name}"):
                found.append(Finding(f"{sub.module}.{a.name}", f"not allowed in {unit}", cell, sub.lineno))
    elif isinstance(sub, ast.Import):
        for a in sub.names:
            if rules.forbidden(assignment, unit, a.name):
                found.append(Finding(a.name, f"not allowed in {unit}", cell, sub.lineno))
    if q and rules.forbidden(assignment, unit, q):
        found.append(Finding(q, f"not allowed in {unit}", cell, getattr(sub, "lineno", 0)))
    return found
