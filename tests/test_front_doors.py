"""The front doors ``bot`` and ``index``: complete, cheap to import, and the only
way the front-ends and eval reach the engine and the index."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import bot
import index

ROOT = Path(__file__).resolve().parents[1]
# Modules that only parse and render: they may import the front doors and each other.
OUTER = ("bot/frontends", "bot/eval")
OUTER_PACKAGES = ("bot.frontends", "bot.eval")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, names) of every ``import``/``from`` in ``path``,
    relative imports resolved against the module's package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module, [a.name for a in node.names]))
    return out


def outer_modules() -> list[Path]:
    return sorted(p for d in OUTER for p in (ROOT / d).glob("*.py"))


@pytest.mark.parametrize("door", [bot, index], ids=lambda m: m.__name__)
def test_all_lists_exactly_the_names_the_door_serves(door: object) -> None:
    home: dict[str, str] = door._HOME  # type: ignore[attr-defined]
    names = door.__all__  # type: ignore[attr-defined]
    assert sorted(names) == sorted(home) and len(set(names)) == len(names)
    for name in names:
        assert getattr(door, name) is not None, name
    # the TYPE_CHECKING block (what mypy sees) imports the same names
    tree = ast.parse(Path(door.__file__).read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    checked = {
        a.asname or a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        for stmt in node.body
        if isinstance(stmt, ast.ImportFrom) and stmt.module != "typing"
        for a in stmt.names
    }
    assert checked == set(names)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = bot.Nope  # type: ignore[attr-defined]
    with pytest.raises(ImportError, match="cannot import name 'Nope'"):
        from index import Nope  # type: ignore[attr-defined] # noqa: F401


def test_front_ends_and_eval_use_only_the_front_doors() -> None:
    """No front-end or eval module imports an internal of bot/ or index/: only
    ``bot``, ``index`` and the modules of the front-end layer itself."""
    wrong = []
    for path in outer_modules():
        for line, module, _names in imports_of(path):
            top = module.split(".")[0]
            if top not in ("bot", "index"):
                continue
            if module in ("bot", "index") or module.startswith(OUTER_PACKAGES):
                continue
            wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_every_name_taken_from_a_front_door_is_served() -> None:
    """Whatever the front-ends, eval, bench and train import from ``bot`` or
    ``index`` is in its ``__all__``."""
    doors = {"bot": set(bot.__all__), "index": set(index.__all__)}
    files = outer_modules() + sorted((ROOT / "bench").glob("*.py"))
    files += sorted((ROOT / "train").glob("*.py"))
    missing = []
    for path in files:
        for line, module, names in imports_of(path):
            for n in names if module in doors else []:
                if n not in doors[module]:
                    missing.append(f"{path.relative_to(ROOT)}:{line} {module}.{n}")
    assert not missing, "\n".join(missing)


def test_the_front_doors_import_nothing_heavy() -> None:
    """``import bot, index`` loads no third-party library: the cold one-shot ask
    pays only for what it uses."""
    heavy = ["chromadb", "bm25s", "rich", "pydantic_settings", "openai", "onnxruntime", "discord"]
    code = f"import sys, bot, index; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == ""
