"""Documents that carry generated content match what the code generates."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sfn_ml_pipeline.config import PipelineConfig
from sfn_ml_pipeline.iam import key_policy

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_documented_key_policy_is_the_one_the_construct_generates():
    text = (DOCS / "kms-key-policy.md").read_text()
    (block,) = re.findall(r"```json\n(.*?)\n```", text, re.DOTALL)
    names = [n.replace("placeholder", "PREFIX") for n in PipelineConfig(name_prefix="placeholder").log_group_names]
    groups = [f"arn:aws:logs:REGION:ACCOUNT_ID:log-group:{name}" for name in names]
    assert json.loads(block) == key_policy("aws", "amazonaws.com", "REGION", "ACCOUNT_ID", groups)
