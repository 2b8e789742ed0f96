"""The same ml-pipeline stack, synthesized with the archived cdktf 0.21 (for benchmarks/run.py).

CDK Terrain (cdktn) kept cdktf's API and only renamed the packages, and the construct uses only
arguments that exist in both provider bindings. So instead of re-typing the construct, this app
registers ``cdktf`` as ``cdktn`` and ``cdktf_cdktf_provider_aws`` as ``cdktn_provider_aws`` and
then builds the very same ``sfn_ml_pipeline`` stack (config, definition, IAM, construct): what is
compared is the framework and its bindings, not two hand-written stacks that might drift apart.

Run with the throwaway venv's python: ``python benchmarks/cdktf_app.py OUT_DIR``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "infra")]


class _Alias:
    """A meta-path finder mapping ``cdktn[...]`` imports to ``cdktf[...]`` modules."""

    PREFIXES = {"cdktn_provider_aws": "cdktf_cdktf_provider_aws", "cdktn": "cdktf"}

    def find_spec(self, name, path=None, target=None):
        for new, old in self.PREFIXES.items():
            if name == new or name.startswith(new + "."):
                real = importlib.import_module(old + name[len(new):])
                sys.modules[name] = real
                return importlib.machinery.ModuleSpec(name, _Loaded(real))
        return None


class _Loaded:
    """A loader that hands back an already imported module."""

    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        return None


def main(out_dir: str) -> None:
    sys.meta_path.insert(0, _Alias())
    from sfn_ml_pipeline.config import load_config
    from sfn_ml_pipeline.stack import build_app

    app = build_app(load_config(None), out_dir=Path(out_dir), state_file="terraform.tfstate")
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1])
