"""The cdktf app (`cdktf.json`: "app": "python3 infra/app.py").

Driven by `pipeline-tools synth` in-process, or by the npm `cdktf-cli` (`cdktf synth`), which runs
this file with CDKTF_OUTDIR set. Configuration comes from PIPELINE_TOOLS_CONFIG (or ./pipeline.toml)
and PIPELINE_TOOLS_TARGET (aws | local).
"""

import os
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "python")]

from pipeline_tools.synthesis import app_for  # noqa: E402

if __name__ == "__main__":
    config_path = os.environ.get("PIPELINE_TOOLS_CONFIG")
    app = app_for(Path(config_path) if config_path else None, os.environ.get("PIPELINE_TOOLS_TARGET", "aws"))
    app.synth()
