"""Packaging: the top-level folders tasks/ and optimizers/ install as mbo.tasks and mbo.optimizers."""
import subprocess
import sys

from mbo import registry


def test_builtins_register_under_the_mbo_namespace():
    for kind in ("task", "optimizer"):
        for name, target in registry.names(kind).items():
            assert target.startswith(f"mbo.{kind}s."), (name, target)


def test_no_top_level_tasks_or_optimizers_package(tmp_path):
    # Run from a folder that is not the repository, as a user's project would.
    code = ("import importlib.util as u, mbo.tasks.synthetic, mbo.optimizers.baselines;"
            "print(u.find_spec('tasks'), u.find_spec('optimizers'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "None"]


def test_user_tasks_package_does_not_shadow_ours(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "__init__.py").write_text("MINE = True\n")
    code = "import tasks, mbo; print(tasks.MINE, type(mbo.make_task('branin')).__name__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "Branin"]
