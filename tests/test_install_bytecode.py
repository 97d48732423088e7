"""`make install` and the Docker image compile HgWatch's own modules once (issue 13, start-up).

The sandbox's shell and the image set ``PYTHONDONTWRITEBYTECODE``, under which Python reads compiled
modules but never writes them: without a compile at install time every command compiled HgWatch's ~80
modules it loads from source again (measured: 213 ms of their own import time against 92 ms). Both
places must compile every package the project installs (pyproject's package list and ``cli``) and
``app.py``; a package added to the project and forgotten here fails this test.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compiled_targets(text: str) -> set[str]:
    """The paths given to ``python -m compileall`` in a Makefile or Dockerfile's text."""
    found = re.findall(r"-m compileall ([^\\\n&]+)", text)
    assert len(found) == 1, found
    return {word for word in shlex.split(found[0]) if not word.startswith("-") and not word.isdigit()}


def project_code() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    scripts = {"app.py", "served_app.py"}  # what Streamlit runs
    return packages | {f"{m}.py" for m in config["tool"]["setuptools"]["py-modules"]} | scripts


def test_make_install_and_the_image_compile_every_package_of_the_project() -> None:
    expected = project_code()
    assert {"geo", "layers", "services", "cli.py", "app.py"} <= expected
    assert compiled_targets((ROOT / "Makefile").read_text()) == expected
    assert compiled_targets((ROOT / "Dockerfile").read_text()) == expected
    assert all((ROOT / target).exists() for target in expected)


def test_the_compile_writes_bytecode_even_where_python_writes_none(tmp_path: Path) -> None:
    """The Makefile's command writes the modules' bytecode with PYTHONDONTWRITEBYTECODE set (into a
    private cache here), and a module then loads from it."""
    cache = tmp_path / "cache"
    command = re.search(r"-m compileall ([^\\\n&]+)", (ROOT / "Makefile").read_text())
    assert command is not None
    env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(cache), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "compileall", *shlex.split(command.group(1))], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    compiled = cache / str(ROOT).lstrip("/") / "geo"  # (under a cache prefix: no __pycache__ folder)
    assert (compiled / f"errors.{sys.implementation.cache_tag}.pyc").is_file()
    assert (cache / str(ROOT).lstrip("/") / f"cli.{sys.implementation.cache_tag}.pyc").is_file()
    loaded = subprocess.run([sys.executable, "-c", "import geo.errors; print(geo.errors.__cached__)"], cwd=ROOT,
                            env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(loaded) == compiled / f"errors.{sys.implementation.cache_tag}.pyc"
