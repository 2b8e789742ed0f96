"""Task types own their state and their IAM: small hand-made inputs, as checkov's check tests do."""

from __future__ import annotations

import pytest

from sfn_ml_pipeline.config import PipelineConfig
from sfn_ml_pipeline.definition import STANDARDIZE, TRAIN, pipeline_tasks
from sfn_ml_pipeline.iam import Arns, Statement, state_machine_statements
from sfn_ml_pipeline.tasks import DefinitionRefs, LambdaInvoke, SageMakerCreateTrainingJob, merge_statements

ARNS = Arns(
    partition="aws-cn", region="cn-north-1", account="111122223333", bucket_arn="arn:aws-cn:s3:::b",
    lambda_arn="arn:aws-cn:lambda:cn-north-1:111122223333:function:f", lambda_log_group_arn="lg",
    sagemaker_role_arn="arn:aws-cn:iam::111122223333:role/jobs", ecr_repositories=[],
)
REFS = DefinitionRefs("b", ARNS.lambda_arn, ARNS.sagemaker_role_arn, "code/x/transform.py", partition="aws-cn")


def _training(role: str = ARNS.sagemaker_role_arn) -> SageMakerCreateTrainingJob:
    return SageMakerCreateTrainingJob(name="Train", parameters={"RoleArn": role}, result_selector={}, result_path="$.t")


def test_a_sagemaker_sync_task_states_its_job_grants_pass_role_and_events_rule():
    statements = {s.sid: s for s in _training().policy_statements(ARNS)}
    assert statements["RunTrainingJobs"].actions == ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"]
    assert statements["RunTrainingJobs"].resources == ["arn:aws-cn:sagemaker:cn-north-1:111122223333:training-job/*"]
    assert statements["PassSageMakerRole"].resources == [ARNS.sagemaker_role_arn]
    assert statements["PassSageMakerRole"].conditions == [("StringEquals", "iam:PassedToService", ["sagemaker.amazonaws.com"])]
    assert statements["WatchSyncJobs"].resources == [
        "arn:aws-cn:events:cn-north-1:111122223333:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"
    ]


def test_a_task_renders_its_partition_aware_resource_retry_and_catch():
    state = _training().state(REFS, "Failed")
    assert state["Resource"] == "arn:aws-cn:states:::sagemaker:createTrainingJob.sync"
    assert state["Retry"][0]["ErrorEquals"] == ["SageMaker.ResourceLimitExceededException"]
    assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}]
    invoke = LambdaInvoke(name="Go", function_arn="arn:f", parameters={}, result_selector={}, result_path="$.x")
    assert invoke.state(REFS, "Failed")["Resource"] == "arn:f"
    assert invoke.policy_statements(ARNS) == [Statement("InvokeFunction", ["lambda:InvokeFunction"], ["arn:f"])]


def test_merge_unites_shared_statements_after_the_task_specific_ones():
    merged = merge_statements([
        [Statement("A", ["x:One"], ["r1"]), Statement("Shared", ["x:Two"], ["r2"])],
        [Statement("B", ["x:Three"], ["r3"]), Statement("Shared", ["x:Two"], ["r4", "r2"])],
    ])
    assert [(s.sid, s.resources) for s in merged] == [("A", ["r1"]), ("B", ["r3"]), ("Shared", ["r2", "r4"])]


def test_merge_refuses_one_sid_with_different_grants():
    with pytest.raises(ValueError, match="'Shared'"):
        merge_statements([[Statement("Shared", ["x:Two"], ["r"])], [Statement("Shared", ["x:Other"], ["r"])]])


def test_the_state_machine_policy_is_the_union_of_its_tasks_plus_logging_and_tracing_where_on():
    tasks = pipeline_tasks(PipelineConfig(region="cn-north-1"), REFS)
    assert [t.name for t in tasks][1:] == [STANDARDIZE, TRAIN]
    full = [s.sid for s in state_machine_statements(ARNS, tasks)]
    assert full == ["InvokeGenerateDataset", "RunProcessingJobs", "RunTrainingJobs", "ReadJobTags", "PassSageMakerRole",
                    "WatchSyncJobs", "DeliverExecutionLogs", "WriteTraces"]
    bare = [s.sid for s in state_machine_statements(ARNS, tasks, logging=False, tracing=False)]
    assert bare == full[:-2]
    # Dropping a task drops exactly its grants: no events rule or job actions are left behind.
    without_training = {s.sid: s for s in state_machine_statements(ARNS, tasks[:2])}
    assert "RunTrainingJobs" not in without_training
    assert all("TrainingJobsRule" not in r for r in without_training["WatchSyncJobs"].resources)


def test_the_iam_arrows_run_one_way():
    """statements.py (the model) imports neither the task types nor the policy assembly; the task
    types import the model, never iam.py; iam.py never imports the task types (issue 27)."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "infra" / "sfn_ml_pipeline"

    def imported(path: Path) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names.add("." * node.level + (node.module or ""))
        return names

    assert not {m for m in imported(package / "statements.py") if m.startswith(".")}
    for task_module in (package / "tasks").glob("*.py"):
        assert "..iam" not in imported(task_module), task_module.name
    assert not {m for m in imported(package / "iam.py") if m.startswith(".tasks")}
