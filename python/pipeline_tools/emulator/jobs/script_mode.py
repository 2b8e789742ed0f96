"""Script mode: the training container runs your script, as the SageMaker framework containers do.

A training job whose hyperparameters name ``sagemaker_program`` runs that script from the code in
``sagemaker_submit_directory`` (the SageMaker Python SDK's ``sourcedir.tar.gz``: an S3 URI, or, for
network-isolated jobs, ``/opt/ml/input/data/code/sourcedir.tar.gz`` from the ``code`` channel). What
the container does, read from aws/sagemaker-training-toolkit (``src/sagemaker_training/``, the
``sagemaker-containers`` successor the XGBoost 1.7-1 image's ``training.py`` calls through
``framework.modules.run_module``) and reproduced here:

* hyperparameters: every value of ``/opt/ml/input/config/hyperparameters.json`` is JSON-decoded
  when it parses, else kept as the string (environment.read_hyperparameters); the ``sagemaker_*``
  ones are the framework's, the others yours;
* the code: unpacked into ``/opt/ml/code`` (files.download_and_extract), its ``requirements.txt``
  installed first (entry_point.install -> modules.install_requirements: ``python -m pip install -r
  requirements.txt``);
* your arguments: ``--name value`` per hyperparameter, names sorted, ``-n`` for one-letter names, a
  dict as ``k=v,k=v`` (mapping.to_cmd_args); the script runs as ``python train.py ARGS`` in
  ``/opt/ml/code`` (runner.ProcessRunner);
* its environment: ``SM_*`` variables (environment.Environment.to_env_vars, mapping.to_env_vars:
  strings as they are, anything else as compact sorted JSON): ``SM_CHANNEL_<NAME>``, ``SM_CHANNELS``,
  ``SM_MODEL_DIR``, ``SM_HPS``, ``SM_HP_<NAME>``, ``SM_HOSTS``, ``SM_CURRENT_HOST``, ``SM_USER_ARGS``,
  ``SM_TRAINING_ENV`` and the rest below.

The runner (training.py) downloads the channels, calls :func:`prepare` per host and runs the script.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from typing import Any

CODE_ARCHIVE = "sourcedir.tar.gz"
PROGRAM, SUBMIT_DIR, LOG_LEVEL, REGION, JOB_NAME = (
    "sagemaker_program", "sagemaker_submit_directory", "sagemaker_container_log_level", "sagemaker_region", "sagemaker_job_name",
)
# The framework's own hyperparameters (sagemaker_training/params.py SAGEMAKER_HYPERPARAMETERS).
SAGEMAKER_HYPERPARAMETERS = (
    PROGRAM, SUBMIT_DIR, "sagemaker_enable_cloudwatch_metrics", REGION, LOG_LEVEL, JOB_NAME,
    "default_user_module_name", "_tuning_objective_metric", "sagemaker_s3_output",
)
# The framework module each image's entry point runs (SM_FRAMEWORK_MODULE, from its Dockerfile's
# SAGEMAKER_TRAINING_MODULE).
FRAMEWORK_MODULES = {
    "sagemaker-xgboost": "sagemaker_xgboost_container.training:main",
    "sagemaker-scikit-learn": "sagemaker_sklearn_container.training:main",
}


def decode_hyperparameters(raw: dict[str, str]) -> dict[str, Any]:
    """environment.read_hyperparameters: each value JSON-decoded where it parses."""
    decoded = {}
    for key, value in (raw or {}).items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def is_script_mode(raw: dict[str, str]) -> bool:
    return decode_hyperparameters(raw).get(PROGRAM) not in (None, "")


def user_hyperparameters(decoded: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in decoded.items() if k not in SAGEMAKER_HYPERPARAMETERS}


def to_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """mapping.to_cmd_args."""
    args = []
    for key in sorted(hyperparameters):
        name = str(key)
        value = hyperparameters[key]
        if hasattr(value, "items"):
            value = ",".join(f"{k}={v}" for k, v in sorted(value.items()))
        args += [f"--{name}" if len(name) > 1 else f"-{name}", "" if value is None else str(value)]
    return args


def _env_value(value: Any) -> str:
    """mapping.to_env_vars.format_value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def environment(*, decoded: dict[str, Any], channels: list[str], host: str, hosts: list[str], resource_config: dict,
                input_data_config: dict, image_repository: str, ml: str, job_name: str, cpus: int) -> dict[str, str]:
    """The ``SM_*`` variables (environment.Environment.to_env_vars) for ``host``; ``ml`` is where the
    process sees /opt/ml (the path itself when mounted)."""
    user = user_hyperparameters(decoded)
    program = str(decoded.get(PROGRAM) or "")
    module_name = program[:-3] if program.endswith(".py") else program
    framework_params = {k: v for k, v in decoded.items() if k.startswith("sagemaker_") and k in SAGEMAKER_HYPERPARAMETERS
                        and k not in (PROGRAM, SUBMIT_DIR, LOG_LEVEL, REGION, JOB_NAME)}
    channel_dirs = {name: f"{ml}/input/data/{name}" for name in channels}
    env: dict[str, Any] = {
        "hosts": hosts,
        "network_interface_name": resource_config.get("network_interface_name", "eth0"),
        "hps": user,
        "user_entry_point": program,
        "framework_params": framework_params,
        "resource_config": resource_config,
        "input_data_config": input_data_config,
        "output_data_dir": f"{ml}/output/data",
        "channels": sorted(channel_dirs),
        "current_host": host,
        "current_instance_type": resource_config.get("current_instance_type", "local"),
        "current_instance_group": resource_config.get("current_group_name", "homogeneousCluster"),
        "current_instance_group_hosts": hosts,
        "instance_groups": [resource_config.get("current_group_name", "homogeneousCluster")],
        "instance_groups_dict": {g["instance_group_name"]: g for g in resource_config.get("instance_groups", [])},
        "distribution_instance_groups": [],
        "is_hetero": False,
        "module_name": module_name,
        "log_level": decoded.get(LOG_LEVEL, 20),
        "framework_module": FRAMEWORK_MODULES.get(image_repository, ""),
        "input_dir": f"{ml}/input",
        "input_config_dir": f"{ml}/input/config",
        "output_dir": f"{ml}/output",
        "num_cpus": cpus,
        "num_gpus": 0,
        "num_neurons": 0,
        "model_dir": f"{ml}/model",
        "module_dir": str(decoded.get(SUBMIT_DIR, "")),
        "user_args": to_cmd_args(user),
        "output_intermediate_dir": f"{ml}/output/intermediate",
    }
    training_env = {**{k: v for k, v in env.items()}, "job_name": job_name, "master_hostname": hosts[0], "is_master": host == hosts[0],
                    "channel_input_dirs": channel_dirs, "hyperparameters": user, "additional_framework_parameters": framework_params}
    env["training_env"] = training_env
    for name, path in channel_dirs.items():
        env[f"channel_{name}"] = path
    for key, value in user.items():
        env[f"hp_{key}"] = value
    variables = {f"SM_{str(key).upper()}": _env_value(value) for key, value in env.items()}
    variables.update({"TRAINING_JOB_NAME": job_name, "SAGEMAKER_REGION": str(decoded.get(REGION, "")), "CURRENT_HOST": host})
    return variables


class CodeProblem(Exception):
    """The script's code cannot be staged: a FailureReason, one line."""


def stage_code(archive: Path, code_dir: Path, entry_point: str) -> str | None:
    """Unpack ``archive`` into ``code_dir`` (files only, none outside it: tarfile's data filter) and
    return its requirements.txt, if any. Raises :class:`CodeProblem`."""
    code_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as packed:
            packed.extractall(code_dir, filter="data")
    except (OSError, tarfile.TarError) as error:
        raise CodeProblem(f"ClientError: cannot unpack the training code {archive.name}: {error}") from None
    if not (code_dir / entry_point).is_file():
        raise CodeProblem(f"ClientError: the training code has no {entry_point} (sagemaker_program)")
    requirements = code_dir / "requirements.txt"
    return requirements.read_text() if requirements.is_file() else None


def failure_reason(ml_root: Path) -> str | None:
    """What the script wrote to /opt/ml/output/failure, which SageMaker reports as the job's
    FailureReason (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html)."""
    path = ml_root / "output" / "failure"
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return None
    return text or None


def cpu_count(hosts: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, hosts))
