"""Build the wheel, install it into a fresh virtual environment, and run it from there."""
from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

pytestmark = pytest.mark.slow


def _sh(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode in (0, 1), f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    build = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                           cwd=tmp, capture_output=True, text=True, timeout=300)
    if build.returncode != 0:  # no `build` frontend: fall back on pip
        build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                                "--wheel-dir", str(dist), str(ROOT)], cwd=tmp, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    wheels = list(dist.glob("rubricdsl-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    py = env_dir / "bin" / "python"
    # The new environment sees this one's dependencies through a .pth file, appended after
    # its own site-packages: the wheel installed there is what `import rubricdsl` finds (the
    # .pth files of this environment, an editable install's among them, are not processed).
    site_dir = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                   capture_output=True, text=True, check=True, timeout=60).stdout.strip())
    outer = dict.fromkeys(site.getsitepackages() + [sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site_dir / "_outer_dependencies.pth").write_text("".join(f"{d}\n" for d in outer if d), encoding="utf-8")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                              "--force-reinstall", str(wheels[0])], cwd=tmp, capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    return env_dir


def _clean_env(env_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return env


def test_wheel_contains_the_grammar(tmp_path: Path, venv: Path) -> None:
    script = textwrap.dedent("""
        import json, rubricdsl
        from rubricdsl.core.resources import grammar_path
        print(json.dumps({"file": rubricdsl.__file__, "grammar": str(grammar_path())}))
    """)
    proc = _sh([str(venv / "bin" / "python"), "-c", script], cwd=tmp_path, env=_clean_env(venv))
    import json

    info = json.loads(proc.stdout)
    venv_real = venv.resolve()
    package = Path(info["file"]).resolve().parent
    assert venv_real in package.parents, f"imported the wrong rubricdsl: {info['file']}"
    assert ROOT not in package.parents
    grammar = Path(info["grammar"]).resolve()
    assert grammar == package / "grammars" / "rubric.lark"
    assert (package / "py.typed").is_file(), "the wheel does not say the package is typed"
    assert grammar.read_text(encoding="utf-8") == (ROOT / "grammars" / "rubric.lark").read_text(encoding="utf-8")


def test_installed_rubric_check(tmp_path: Path, venv: Path) -> None:
    rubric = tmp_path / "cli.rubric"
    rubric.write_bytes((DATA / "cli.rubric").read_bytes())
    data = tmp_path / "mixed.jsonl"
    data.write_bytes((DATA / "mixed.jsonl").read_bytes())
    exe = venv / "bin" / "rubric"
    assert exe.is_file()
    proc = _sh([str(exe), "check", "cli.rubric", "mixed.jsonl", "--format", "jsonl"], cwd=tmp_path,
               env=_clean_env(venv))
    assert proc.returncode == 1
    import json

    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["kind"] == "summary" and summary["summary"]["records"] == 9
    alias = _sh([str(venv / "bin" / "rubricdsl"), "test", "cli.rubric"], cwd=tmp_path, env=_clean_env(venv))
    assert alias.returncode == 0 and "2 examples passed, 0 failed" in alias.stdout


def test_installed_explain_and_lint(tmp_path: Path, venv: Path) -> None:
    """The wheel ships the diagnostic pages that `rubric explain` prints, and lint runs."""
    exe = str(venv / "bin" / "rubric")
    page = _sh([exe, "explain", "RB204"], cwd=tmp_path, env=_clean_env(venv))
    assert page.returncode == 0 and "## What it does" in page.stdout and "### Avoid" in page.stdout
    rubric = tmp_path / "cli.rubric"
    rubric.write_bytes((DATA / "cli.rubric").read_bytes())
    lint = _sh([exe, "lint", "cli.rubric", "--format", "json"], cwd=tmp_path, env=_clean_env(venv))
    assert lint.returncode in (0, 1) and '"diagnostics"' in lint.stdout


def test_installed_rubric_doc_renders_from_the_shipped_templates(tmp_path: Path, venv: Path) -> None:
    """The wheel ships the Jinja templates: the installed `rubric doc` renders both formats,
    and `rubric check --report` its HTML report, from the installed package."""
    rubric = tmp_path / "cli.rubric"
    rubric.write_bytes((DATA / "cli.rubric").read_bytes())
    data = tmp_path / "mixed.jsonl"
    data.write_bytes((DATA / "mixed.jsonl").read_bytes())
    exe = str(venv / "bin" / "rubric")
    env = _clean_env(venv)
    md = _sh([exe, "doc", "cli.rubric"], cwd=tmp_path, env=env)
    assert md.returncode == 0 and "# cli-sample — version 1.0" in md.stdout and '<a id="decide-safety"></a>' in md.stdout
    html = _sh([exe, "doc", "cli.rubric", "-o", "GUIDE.html"], cwd=tmp_path, env=env)
    assert html.returncode == 0, html.stderr
    page = (tmp_path / "GUIDE.html").read_text(encoding="utf-8")
    assert page.lstrip().startswith("<!DOCTYPE html>") and 'id="rule-rationale_for_borderline"' in page
    assert "<style>" in page and "@media print" in page
    check = _sh([exe, "check", "cli.rubric", "mixed.jsonl", "--report", "report.html", "-o", "out.txt"], cwd=tmp_path,
                env=env)
    assert check.returncode == 1, check.stderr
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'href="GUIDE.html#decide-safety"' in report
    script = "import rubricdsl.render.guide as r, pathlib; print(pathlib.Path(r.__file__).parent)"
    where = _sh([str(venv / "bin" / "python"), "-c", script], cwd=tmp_path, env=env).stdout.strip()
    assert venv.resolve() in Path(where).resolve().parents
    shipped = {p.name for p in (Path(where) / "templates").iterdir()}
    assert {"guide.md.j2", "guide.html.j2", "report.html.j2", "_style.css"} <= shipped
