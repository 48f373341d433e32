"""skel-core stands alone: it installs with pip into a clean venv and imports without torch."""

import shutil
import subprocess
import sys
import venv
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "packages" / "skel-core"
MODULES = [
    "annotations",
    "atomic",
    "cfg_options",
    "checkpoint",
    "config",
    "errors",
    "graph",
    "layouts",
    "metrics",
    "registry",
    "safe_pickle",
]


def test_every_module_imports_with_torch_unavailable():
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any 'import torch' now raises ImportError
        + "".join(f"import skel_core.{m}\n" for m in MODULES)
        + "from skel_core.graph import Graph; assert Graph('coco').A.shape == (3, 17, 17)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pip_install_into_a_clean_venv_with_only_numpy(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    source = shutil.copytree(CORE, tmp_path / "skel-core")  # pip builds in place
    subprocess.run([python, "-m", "pip", "install", "-q", str(source)], check=True)
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"], check=True, capture_output=True, text=True
    ).stdout
    names = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert "numpy" in names and "skel-core" in names and "torch" not in names
    check = (
        "import skel_core, skel_core.annotations, skel_core.config; print(skel_core.__version__)"
    )
    out = subprocess.run([python, "-c", check], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "0.1.0"
