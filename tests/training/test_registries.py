"""Trainers and exporters declare themselves on their functions; the CLI lists them without importing torch."""
import re
import subprocess
import sys
import textwrap

import pytest

from export.registry import EXPORTERS
from training.registry import TRAINERS, DeclaredRegistry, scan_declarations

REGISTRIES = {"train": TRAINERS, "export": EXPORTERS}
# What the shipped skills provide: a declaration that the scan stops finding is a missing command.
EXPECTED = {"train": {"har", "anomaly", "ocr-rec", "ocr-det", "kws"},
            "export": {"har", "anomaly", "face", "liveness", "ocr-rec", "ocr-det", "kws", "kws-emb"}}
HELP_TIMEOUT_S = 60


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=HELP_TIMEOUT_S)


@pytest.mark.parametrize("command", sorted(REGISTRIES))
def test_scan_finds_every_shipped_entry(command):
    assert set(REGISTRIES[command].entries()) == EXPECTED[command]


@pytest.mark.parametrize("command", sorted(REGISTRIES))
def test_help_lists_every_entry_without_importing_torch(command):
    code = textwrap.dedent(f"""
        import contextlib, io, sys
        from pipeline.cli.main import main
        for argv in (["--help"], ["{command}", "--help"]):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                try:
                    main(argv)
                except SystemExit:
                    pass
            print(out.getvalue())
        print("heavy modules loaded:", sorted(m for m in ("torch", "onnx", "training.sensor.har", "export.face")
                                              if m in sys.modules))
        """)
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "heavy modules loaded: []" in proc.stdout
    listing = proc.stdout.split("positional arguments:")[-1]
    for name, entry in REGISTRIES[command].entries().items():
        assert f"    {name} " in listing and entry.help.split()[0] in listing


@pytest.mark.torch
@pytest.mark.parametrize("command", sorted(REGISTRIES))
def test_every_entry_imports_and_its_decorator_agrees_with_the_scan(command):
    pytest.importorskip("torch")
    registry = REGISTRIES[command]
    for name, entry in registry.entries().items():
        function = entry.load()
        assert callable(function) and function.__name__ == entry.function, entry
        if name not in registry.declared_elsewhere:  # the decorator ran on import and saw the same entry
            assert registry.registered[name] == entry
    assert set(registry.registered) == set(registry.entries()) - set(registry.declared_elsewhere)


def make_package(root, name: str, body: str) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "skill.py").write_text(textwrap.dedent(body))


def test_scan_reads_declarations_without_importing(tmp_path, monkeypatch):
    make_package(tmp_path, "scanpkg", """
        raise RuntimeError("imported: the scan must only read this file")
        @THINGS.register("alpha", "first thing")
        def make_alpha(checkpoint, out): ...
        def helper(): ...
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    (entry,) = scan_declarations("scanpkg", "THINGS")
    assert (entry.name, entry.module, entry.function, entry.help) == ("alpha", "scanpkg.skill", "make_alpha",
                                                                     "first thing")
    assert "scanpkg.skill" not in sys.modules


def test_computed_name_is_refused_with_the_line(tmp_path, monkeypatch):
    make_package(tmp_path, "badpkg", """
        NAME = "alpha"
        @THINGS.register(NAME, "first thing")
        def make_alpha(checkpoint, out): ...
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match=re.escape("skill.py:3: @THINGS.register(...) must be the last decorator")):
        scan_declarations("badpkg", "THINGS")


def test_a_stacked_decorator_below_is_refused_too(tmp_path, monkeypatch):
    make_package(tmp_path, "stackpkg", """
        @THINGS.register("alpha", "first thing")
        @other
        def make_alpha(checkpoint, out): ...
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match="skill.py:2: .* must be the last decorator"):
        scan_declarations("stackpkg", "THINGS")


def test_a_name_declared_twice_is_refused(tmp_path, monkeypatch):
    make_package(tmp_path, "twicepkg", """
        @THINGS.register("alpha", "one")
        def one(checkpoint, out): ...
        @THINGS.register("alpha", "two")
        def two(checkpoint, out): ...
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match=r"'alpha' is declared twice: twicepkg.skill:one and twicepkg.skill:two"):
        DeclaredRegistry("thing", "twicepkg", "THINGS").entries()
