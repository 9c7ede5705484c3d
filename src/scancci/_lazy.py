"""Lazy, typed re-exports for package `__init__` modules.

A package lists its public names once, as ordinary imports inside `if TYPE_CHECKING:`, so IDEs
and type checkers see the real signatures; at run time those imports never execute and
`lazy_exports` reads the same block from the package's source to import each name on first
use. `import scancci` therefore stays cheap (the CLI prints its help without PyTorch).

    if TYPE_CHECKING:
        from scancci.models.factory import create_model as create_model

    __getattr__, __dir__, __all__ = lazy_exports(globals())
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def type_checking_imports(source: str) -> dict[str, tuple[str, str]]:
    """public name -> (defining module, its name there), from the `from M import a as b` lines of a module's
    top-level `if TYPE_CHECKING:` block (a relative or star import there is an error)."""
    table: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"):
            continue
        for stmt in node.body:
            if not isinstance(stmt, ast.ImportFrom) or stmt.level or not stmt.module:
                raise ImportError("a lazy package's TYPE_CHECKING block holds only absolute "
                                  "`from module import name` lines")
            for alias in stmt.names:
                if alias.name == "*":
                    raise ImportError("no star imports in a lazy package's TYPE_CHECKING block")
                table[alias.asname or alias.name] = (stmt.module, alias.name)
    return table


def lazy_exports(namespace: dict[str, Any]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """`__getattr__`, `__dir__` and `__all__` for the package whose globals are `namespace`:
    each name of its TYPE_CHECKING block is imported from its module on first use and cached
    in the package; `__all__` also keeps the public names the package defines itself."""
    package = namespace["__name__"]
    exports = type_checking_imports(Path(namespace["__file__"]).read_text(encoding="utf-8"))
    eager = [n for n in namespace.get("__all__", ()) if n not in exports]

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, original = exports[name]
        value = getattr(importlib.import_module(module), original)
        namespace[name] = value  # cache: later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__, [*eager, *sorted(exports)]
