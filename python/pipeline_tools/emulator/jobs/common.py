"""What the job runners share: S3 transfers against the emulator, the job directory, log tails."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

FAILURE_REASON_LIMIT = 1024  # SageMaker's FailureReason is at most 1,024 characters
DOWNLOAD_BUFFER = 1024 * 1024


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


_s3_client: Any = None
_s3_client_lock = threading.Lock()
# Job ARN -> the credentials of the job's RoleArn (IAM enforcement on; set by the create call,
# see patches/sagemaker_jobs.py). Kept off moto's job objects, which describe every attribute.
JOB_CREDENTIALS: dict[str, Any] = {}
_job_session: Any = None


def job_s3_client(job: Any) -> Any:
    """The S3 client a job's data moves with: as the job's role when IAM is enforced (a client of
    its own, as SageMaker uses the role's credentials), else the shared client."""
    credentials = JOB_CREDENTIALS.get(job.arn)
    if credentials is None:
        return s3_client()
    import boto3

    global _job_session
    # One session for all job clients: ~10 ms per client instead of ~0.2 s from a new session;
    # sessions are not thread-safe, clients are (built under the lock, used freely).
    with _s3_client_lock:
        if _job_session is None:
            _job_session = boto3.session.Session()
        return _emulator_s3_client(_job_session, **credentials.boto_kwargs())


def _emulator_s3_client(session: Any, **credentials: Any) -> Any:
    """An S3 client on this emulator over its own HTTPS, path-style, checksums only when required
    (see s3_client). Call under ``_s3_client_lock``: the session is shared."""
    from botocore.config import Config

    return session.client(
        "s3",
        endpoint_url=os.environ.get("PIPELINE_TOOLS_EMULATOR_ENDPOINT"),
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        verify=os.environ.get("AWS_CA_BUNDLE") or True,
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
        **credentials,
    )


def data_failure(direction: str, uri: str, error: Exception) -> str:
    """A job's FailureReason when its data cannot move, as SageMaker words it: "ClientError: Data
    download failed:Unable to download object s3://... (AccessDenied: Access Denied)" (seen on
    SageMaker, e.g. aws/amazon-sagemaker-examples#4384); here S3's full message is kept."""
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code", type(error).__name__)
    message = response.get("Error", {}).get("Message", str(error))
    verb = "download" if direction == "download" else "upload"
    return f"ClientError: Data {verb} failed:Unable to {verb} {uri} ({code}: {message})"


def s3_client() -> Any:
    """The boto3 S3 client the job runners share, for this emulator over its own HTTPS (as a job's
    role would call S3). Built once per server process: a client costs ~0.2 s to build in the
    busy server, and botocore clients are thread-safe.

    Checksums only ``when_required``: botocore's default sends every upload ``aws-chunked`` with a
    CRC32 trailer, which moto then decodes and re-checksums in Python. These transfers stand in
    for SageMaker's own data movement over loopback TLS; MD5 ETags are still computed."""
    global _s3_client
    with _s3_client_lock:
        if _s3_client is None:
            import boto3

            _s3_client = _emulator_s3_client(boto3.session.Session())
        return _s3_client


def put_file(s3: Any, path: Path, bucket: str, key: str, encryption: dict[str, str] | None = None) -> None:
    """One plain PutObject streamed from the file (no s3transfer: its multipart uploads would be
    assembled in memory by moto, and transform.py shards its output, so no object is large), with
    the server-side encryption SageMaker asks for (:func:`output_encryption`)."""
    with open(path, "rb") as handle:
        s3.put_object(Bucket=bucket, Key=key, Body=handle, **(encryption or {}))


def output_encryption(kms_key_id: str | None) -> dict[str, str]:
    """How SageMaker encrypts what a job uploads (a model, processing outputs, transform results):
    with the job's output ``KmsKeyId`` ("the KMS key that SageMaker uses to encrypt the model artifacts
    at rest using Amazon S3 server-side encryption"), and without one with "the default KMS key for
    Amazon S3 for your role's account" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html,
    ``ProcessingOutputConfig``/``TransformOutput`` alike), not the bucket's default key: the object's
    HeadObject (``SSEKMSKeyId``) records which."""
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id or aws_managed_s3_key()}


AWS_S3_ALIAS = "alias/aws/s3"  # "AWS creates [it] the first time you use SSE-KMS" without naming a key (UsingKMSEncryption.html)
_aws_s3_key_lock = threading.Lock()


def aws_managed_s3_key() -> str:
    """The ARN of the account's AWS managed key for S3 (``aws/s3``), with the key policy of AWS managed
    keys: any principal of the account, through S3 only ("The key policies for all AWS managed keys use
    the kms:ViaService condition key",
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service),
    so a role needs no IAM grant for it, and the account may read its metadata. moto 5.2.5 creates the reserved ``alias/aws/s3`` key on first
    lookup (``KmsBackend.get_key_id_from_alias``) with the default key policy (the account root,
    ``kms:*``) and KeyManager CUSTOMER: both are set to an AWS managed key's here."""
    from moto.kms.models import kms_backends

    from ..authz.enforce import ACCOUNT

    backend = kms_backends[ACCOUNT.account][ACCOUNT.region]
    with _aws_s3_key_lock:
        key = backend.keys[backend.get_key_id_from_alias(AWS_S3_ALIAS)]
        if getattr(key, "key_manager", None) != "AWS":
            key.policy = json.dumps({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Allow access through S3 for all principals in the account that are authorized to use S3",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT.account, "kms:ViaService": f"s3.{ACCOUNT.region}.amazonaws.com"}},
                    },
                    {
                        # Anyone in the account may read an AWS managed key's metadata (DescribeKey, GetKeyPolicy)
                        # but never change it: "You can view the AWS managed keys in your account ... and their key
                        # policies. You cannot change any properties of AWS managed keys"
                        # (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key).
                        "Sid": "Allow direct access to key metadata to the account",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT.account}:root"},
                        "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                        "Resource": "*",
                    },
                ],
            })
            key.key_manager = "AWS"
            key.description = "Default key that protects my S3 objects when no other key is defined"
        return key.arn


def sandbox_env(root: Path | str, *, aws: bool = True) -> dict[str, str]:
    """The environment a Lambda handler or job process starts with: nothing inherited but PATH,
    its own HOME/TMPDIR under ``root``, and (``aws``) the emulator's endpoint, CA and test credentials
    so boto3 inside it talks to the emulator, never to AWS. Without ``aws`` (a network-isolated job,
    :func:`network_isolated`, or an algorithm that reads local files only) no credentials and no
    endpoint, and no instance metadata service to look for them in: an SDK call fails as in an
    isolated container on SageMaker, with ``NoCredentialsError: Unable to locate credentials``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "TMPDIR": str(root),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    if aws:
        env.update(
            AWS_ENDPOINT_URL=os.environ.get("PIPELINE_TOOLS_EMULATOR_ENDPOINT", ""),
            AWS_CA_BUNDLE=os.environ.get("AWS_CA_BUNDLE", ""),
            AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        )
    else:
        env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def network_isolated(job: Any) -> bool:
    """Whether a job runs network-isolated: training's ``EnableNetworkIsolation``, processing's
    ``NetworkConfig.EnableNetworkIsolation`` (a transform job: its model's, see transform.py). Then
    "the containers can't make any outbound network calls, even to other AWS services such as Amazon
    S3. Additionally, no AWS credentials are made available to the container runtime environment";
    "SageMaker still performs download and upload operations against Amazon S3 using your SageMaker
    execution role in isolation from the training or inference container"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html): the runner
    moves the data, the job's processes get ``sandbox_env(..., aws=False)``. No network is emulated:
    a VPC (``VpcConfig``) is recorded on the job, nothing more."""
    if getattr(job, "enable_network_isolation", None):
        return True
    return bool((getattr(job, "network_config", None) or {}).get("EnableNetworkIsolation"))


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def list_keys(s3: Any, uri: str) -> list[str]:
    """The object keys under ``uri`` (an S3 prefix, or one key), sorted, folders markers left out."""
    bucket, prefix = split_s3_uri(uri)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/"))
    return sorted(keys)


def host_names(count: int) -> list[str]:
    """SageMaker's host names for ``count`` instances: ``algo-1`` ... ``algo-N``."""
    return [f"algo-{index}" for index in range(1, max(1, int(count)) + 1)]


def distribute(keys: list[str], hosts: list[str], distribution: str | None) -> dict[str, list[str]]:
    """Which objects each host receives. ``FullyReplicated`` (the default): every host every object.
    ``ShardedByS3Key``: "If there are n ML compute instances launched for a training job, each
    instance gets approximately 1/n of the number of S3 objects"
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3DataSource.html; processing:
    "downloading one shard of data to each processing instance",
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html). SageMaker does
    not document which objects go where; here the sorted keys are dealt round-robin, so the shares
    are disjoint, complete and differ by at most one object (a host may get none)."""
    if distribution == "ShardedByS3Key":
        return {host: keys[index :: len(hosts)] for index, host in enumerate(hosts)}
    return {host: list(keys) for host in hosts}


def download_keys(s3: Any, uri: str, keys: list[str], destination: Path) -> int:
    """Download ``keys`` (from :func:`list_keys` of ``uri``) into ``destination``, keeping the path
    below the prefix, as SageMaker's File mode does. Returns the count."""
    bucket, prefix = split_s3_uri(uri)
    destination.mkdir(parents=True, exist_ok=True)
    root = str(destination.resolve())
    for key in keys:
        relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
        target = (destination / relative).resolve()
        if not str(target).startswith(root):
            continue  # a key with ".." must not escape the job's root
        target.parent.mkdir(parents=True, exist_ok=True)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        with open(target, "wb") as handle:
            shutil.copyfileobj(body, handle, DOWNLOAD_BUFFER)
    return len(keys)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the XGBoost tracker's; the container's default is 9099,
    which concurrent local jobs could not share)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, default=str))


def record_instances(log_dir: Path, instances: dict[str, list[str]]) -> None:
    """``<job dir>/instances.json``: ``[{"host": "algo-1", "input_files": ["s3://...", ...]}, ...]``,
    the objects each host received (``run`` puts it in summary.json)."""
    write_json(log_dir / "instances.json", [{"host": host, "input_files": files} for host, files in instances.items()])


def download_prefix(s3: Any, uri: str, destination: Path) -> int:
    """Download every object under ``uri`` (an S3 prefix, or one key) into ``destination``,
    keeping the path below the prefix, as SageMaker's File mode does. Returns the count."""
    bucket, prefix = split_s3_uri(uri)
    destination.mkdir(parents=True, exist_ok=True)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith("/"):
                continue
            relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
            target = (destination / relative).resolve()
            if not str(target).startswith(str(destination.resolve())):
                continue  # a key with ".." must not escape the job's root
            target.parent.mkdir(parents=True, exist_ok=True)
            # One streamed GetObject: s3transfer's download_file adds a HeadObject and a ranged
            # GET written through its queue, ~3x slower here (40 MB: 0.24 s vs 0.08 s, measured).
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            with open(target, "wb") as handle:
                shutil.copyfileobj(body, handle, DOWNLOAD_BUFFER)
            count += 1
    return count


def upload_directory(s3: Any, source: Path, uri: str, encryption: dict[str, str] | None = None) -> int:
    bucket, prefix = split_s3_uri(uri)
    count = 0
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        key = "/".join(part for part in (prefix.rstrip("/"), path.relative_to(source).as_posix()) if part)
        put_file(s3, path, bucket, key, encryption)
        count += 1
    return count


def jobs_directory(kind: str, job_name: str) -> Path:
    """``<state dir>/jobs/<kind>/<job>/``, emptied: each host's ``algo-N/stdout.log`` and
    ``algo-N/stderr.log``, ``runner.log`` (what the emulator did around the container, with timings) and, for training,
    ``metrics.json``; readable by the CLI. ``kind`` (``processing``/``training``) keeps them apart:
    as on SageMaker, a processing and a training job may share a name (the pipeline names both
    after the execution). A name reused after a restart starts clean."""
    base = Path(os.environ.get("PIPELINE_TOOLS_EMULATOR_DIR", ".pipeline-tools")) / "jobs" / kind / job_name
    base.mkdir(parents=True, exist_ok=True)
    for stale in base.iterdir():
        if stale.is_file():
            stale.unlink()
        elif stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    return base


class RunnerLog:
    """``runner.log`` in a job's directory: one timestamped line per step the emulator takes
    around the container (download, start, exit, upload), with how long it took."""

    def __init__(self, log_dir: Path) -> None:
        self.path = log_dir / "runner.log"
        self._last = time.monotonic()

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(f"{utcnow():%H:%M:%S.%f}"[:-3] + f" (+{now - self._last:.3f} s) {message}\n")
        self._last = now


def runtime_exceeded(kind: str, limit: float) -> str:
    """Why a job past ``StoppingCondition.MaxRuntimeInSeconds`` ended. SageMaker ends such a job
    and reports it ``Stopped`` (for training with the secondary status ``MaxRuntimeExceeded``, "The
    job stopped because it exceeded the maximum allowed runtime":
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_SecondaryStatusTransition.html);
    this text (the emulator's, kept in FailureReason so Step Functions' cause and ``run`` say why)
    names that status."""
    return f"MaxRuntimeExceeded: the {kind} job exceeded MaxRuntimeInSeconds ({limit:.0f} s) and was stopped"


def host_failure(host: str, code: int, log_dir: Path) -> str:
    """A crashed host's FailureReason: ``AlgorithmError`` (SageMaker's prefix for a container's
    failure) with the exit code, the host and its last error lines."""
    stderr = tail(read_tail(host_directory(log_dir, host) / "stderr.log"))
    return f"AlgorithmError: exit code {code} on {host}: {stderr or 'no output on stderr'}"


def host_directory(log_dir: Path, host: str) -> Path:
    """``<job dir>/<host>/``: that host's ``stdout.log`` and ``stderr.log``."""
    path = log_dir / host
    path.mkdir(parents=True, exist_ok=True)
    return path


def tail(text: str, limit: int = FAILURE_REASON_LIMIT - 100) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


# -- /opt/ml as in a container ----------------------------------------------------------------------
# A SageMaker container sees its data, code and config under /opt/ml (processing:
# /opt/ml/processing/..., /opt/ml/config; training: /opt/ml/input, /opt/ml/model, /opt/ml/code), and
# scripts name those paths outright. Locally each job host's files live in a folder of its own; where
# the machine allows it, each host's process gets a private mount namespace with that folder
# bind-mounted at /opt/ml (util-linux `unshare --mount`, as root; else `unshare --user
# --map-root-user --mount` with an existing /opt/ml), so a script sees exactly the container's paths.
# Elsewhere the runners map /opt/ml/... in arguments and variables to the host folder ("mapped"),
# which a script that hard-codes the paths cannot follow. PIPELINE_TOOLS_JOB_PATHS=mapped forces it.
CONTAINER_ML = "/opt/ml"
_MOUNT_SCRIPT = 'mount --bind "$0" /opt/ml && exec "$@"'


def _unshare_prefix(user_namespace: bool) -> list[str]:
    return ["unshare", *(["--user", "--map-root-user"] if user_namespace else []), "--mount", "--propagation", "private", "--"]


@functools.lru_cache(maxsize=1)
def container_paths() -> list[str] | None:
    """The command prefix that runs a process with its own /opt/ml (see above), or None ("mapped")."""
    if os.environ.get("PIPELINE_TOOLS_JOB_PATHS", "").strip().lower() == "mapped" or shutil.which("unshare") is None:
        return None
    try:
        Path(CONTAINER_ML).mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    import tempfile

    with tempfile.TemporaryDirectory(prefix="opt-ml-probe-") as probe:
        Path(probe, "probe").write_text("x")
        for user_namespace in (os.geteuid() != 0, os.geteuid() == 0):
            prefix = _unshare_prefix(user_namespace)
            try:
                result = subprocess.run([*prefix, "/bin/sh", "-c", _MOUNT_SCRIPT, probe, "/bin/sh", "-c", "test -f /opt/ml/probe"],
                                        capture_output=True, timeout=20)
            except (OSError, subprocess.SubprocessError):
                continue
            if result.returncode == 0:
                return prefix
    return None


def in_container(args: list[str], ml_root: Path) -> list[str]:
    """``args`` run with ``ml_root`` mounted at /opt/ml (when :func:`container_paths` allows)."""
    prefix = container_paths()
    if prefix is None:
        return list(args)
    return [*prefix, "/bin/sh", "-c", _MOUNT_SCRIPT, str(ml_root), *args]


JOBS_DIRECTORY = Path(__file__).resolve().parent
# The launcher and the built-in algorithm's modules import only the standard library and the
# image's own libraries, so an image's interpreter runs them by path: no pipeline_tools there.
LAUNCHER = JOBS_DIRECTORY / "launch.py"
# Where the launcher records what the job's interpreter loaded (launch.py reads and removes it).
RUNTIME_RECORD_VARIABLE = "PIPELINE_TOOLS_JOB_RUNTIME_RECORD"


def algorithm_module(name: str) -> str:
    """The path of a built-in algorithm module (``xgboost_train``, ``xgboost_predict``)."""
    return str(JOBS_DIRECTORY / f"{name}.py")


def image_python(image_uri: str, note: Any) -> Path:
    """The interpreter of the environment of the image ``image_uri`` names, built first when there is
    none (a line in runner.log and the emulator's log before and after: ~20 s once per image).
    Raises :class:`~pipeline_tools.emulator.images.UnknownImage` (one line naming the image and what
    is supported) or :class:`~pipeline_tools.emulator.images.ImageEnvironmentError`."""
    from .. import images

    image = images.resolve(image_uri)

    def log(line: str) -> None:
        note(line)
        print(f"emulator: {line}", file=sys.stderr, flush=True)

    python = images.ensure(image, log=log)
    note(f"image {image.label}: {', '.join(image.requirements)} ({python.parent.parent})")
    return python


def requirements_python(image_uri: str, requirements: str | None, python: str | Path, note: Any) -> Path:
    """The interpreter a job with ``requirements`` (your code folder's requirements.txt) runs: the
    image's, or an environment with them on top of it (``images.ensure_requirements``, built once)."""
    if not requirements or not requirements.strip():
        return Path(python)
    from .. import images

    def log(line: str) -> None:
        note(line)
        print(f"emulator: {line}", file=sys.stderr, flush=True)

    overlay = images.ensure_requirements(images.resolve(image_uri), requirements, log=log)
    note(f"requirements.txt: {', '.join(line.strip() for line in requirements.splitlines() if line.strip() and not line.startswith('#'))} ({overlay.parent.parent})")
    return overlay


def unreachable_requirements(requirements: str) -> str:
    """Why a network-isolated job with a requirements.txt fails, as it does on SageMaker: its container
    "can't make any outbound network calls" (https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html),
    so pip finds no index and says so in its own words."""
    first = next((line.strip() for line in requirements.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    return (f"AlgorithmError: pip install -r requirements.txt: ERROR: Could not find a version that satisfies the requirement "
            f"{first} (from versions: none) (the job is network-isolated: no package index is reachable; vendor the packages "
            "into the code folder or turn network isolation off for this job)")


class JobProcess:
    """A job's process: started early (:meth:`start`), run when its inputs are in place
    (:meth:`run`), always cleaned up (:meth:`close`).

    When ``args`` is ``PYTHON SCRIPT ...`` or ``PYTHON -m MODULE ...`` (``PYTHON``: ``python``, this
    interpreter unless given: an image environment's) and ``preload`` names modules, the
    interpreter starts at once through :mod:`.launch` (run by path), importing those while the
    runner downloads; :meth:`run` then lets the job's code start. Any other command simply
    starts in :meth:`run`. stdout/stderr go to ``log_dir/{stdout,stderr}.log``; with a preload,
    ``log_dir/runtime.json`` records the interpreter and the versions of what it loaded."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str], log_dir: Path, preload: tuple[str, ...] = (), python: str | Path | None = None,
                 container_root: Path | None = None) -> None:
        self.args, self.cwd, self.env, self.log_dir = args, cwd, env, log_dir
        self.container_root = container_root  # seen at /opt/ml by the process, where the machine allows (in_container)
        self.preload = preload if preload and _is_python_program(args, str(python or sys.executable)) else ()
        if self.preload:
            self.env = {**env, RUNTIME_RECORD_VARIABLE: str(log_dir / "runtime.json")}
        self.process: subprocess.Popen | None = None

    def _popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen:
        if self.container_root is not None:
            args = in_container(args, self.container_root)
        with open(self.log_dir / "stdout.log", "ab") as out, open(self.log_dir / "stderr.log", "ab") as err:
            return subprocess.Popen(args, cwd=self.cwd, env=self.env, stdout=out, stderr=err, **kwargs)

    def start(self) -> "JobProcess":
        if self.preload:
            launcher = [self.args[0], str(LAUNCHER), ",".join(self.preload), "--", *self.args[1:]]
            self.process = self._popen(launcher, stdin=subprocess.PIPE)
        return self

    def release(self) -> None:
        """Let the job's code start (a preloaded interpreter gets ``run``; otherwise it starts now)."""
        if self.process is None:
            self.process = self._popen(self.args, stdin=subprocess.DEVNULL)
        else:
            try:
                self.process.stdin.write(b"run\n")
                self.process.stdin.close()
            except BrokenPipeError:
                pass  # it already exited: its status and stderr tell why

    def run(self, *, timeout: float, stop: threading.Event) -> tuple[int | None, str]:
        """Run the job's code to the end; returns (exit code, "") or (None, "stopped"|"timeout")."""
        outcome = HostGroup({"algo-1": self}).run(timeout=timeout, stop=stop)
        return (outcome.code, "") if outcome.kind in ("completed", "failed") else (None, outcome.kind)

    def close(self) -> None:
        """End the process if it still runs (a job stopped, or never released after a failed download)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Outcome:
    """How a job's hosts ended: ``kind`` is ``completed`` (all exited 0), ``failed`` (``host`` exited
    ``code`` first; the others were stopped), ``stopped`` (StopXJob) or ``timeout``
    (MaxRuntimeInSeconds); ``seconds``: how long the hosts ran."""

    def __init__(self, kind: str, host: str | None = None, code: int | None = None, seconds: float = 0.0) -> None:
        self.kind, self.host, self.code, self.seconds = kind, host, code, seconds

    def __repr__(self) -> str:
        return f"Outcome({self.kind!r}, host={self.host!r}, code={self.code!r})"


class HostGroup:
    """A job's hosts (``algo-1`` ... ``algo-N``: one :class:`JobProcess` each) run as SageMaker runs
    them: all released together; the job completes when every host exits 0; the first host to exit
    non-zero fails the job and the others are stopped; StopXJob or the runtime limit stops them all
    (SIGTERM, then SIGKILL after a grace period)."""

    POLL_SECONDS = 0.02

    def __init__(self, hosts: dict[str, JobProcess]) -> None:
        self.hosts = hosts

    def run(self, *, timeout: float, stop: threading.Event) -> Outcome:
        started = time.monotonic()
        for process in self.hosts.values():
            process.release()
        deadline = started + timeout
        running = dict(self.hosts)
        try:
            while running:
                for host, process in list(running.items()):
                    code = process.process.poll()
                    if code is None:
                        continue
                    del running[host]
                    if code != 0:
                        return Outcome("failed", host, code, time.monotonic() - started)
                if not running:
                    break
                if stop.is_set():
                    return Outcome("stopped", seconds=time.monotonic() - started)
                if time.monotonic() > deadline:
                    return Outcome("timeout", seconds=time.monotonic() - started)
                time.sleep(self.POLL_SECONDS)
            return Outcome("completed", code=0, seconds=time.monotonic() - started)
        finally:
            self.close()

    def close(self) -> None:
        """Stop every host still running: SIGTERM to all at once, then wait (SIGKILL after 5 s)."""
        live = [p.process for p in self.hosts.values() if p.process is not None and p.process.poll() is None]
        for process in live:
            process.terminate()
        for process in live:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _is_python_program(args: list[str], python: str) -> bool:
    """``python`` (a known interpreter: this one or an image environment's) running ``SCRIPT ...``
    or ``-m MODULE ...`` (not ``-c``, other flags, or another program, which may not be a Python
    the launcher runs on)."""
    if len(args) < 2 or args[0] != python:
        return False
    return (args[1] == "-m" and len(args) > 2) or not args[1].startswith("-")


def read_tail(path: Path, size: int = 4000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - size))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""
