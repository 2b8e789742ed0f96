"""The deployable stack: AWS provider, state backend and one `MlPipeline`.

``target="aws"`` uses the standard credential chain. ``target="local"`` points every service at
the local emulator (``pipeline-tools local up``) with throwaway credentials; the pipeline itself
is the very same construct, with no security setting switched off.
"""

from __future__ import annotations

from pathlib import Path

from cdktn import App, LocalBackend, S3Backend, TerraformStack
from cdktn_provider_aws.provider import AwsProvider
from constructs import Construct

from .config import PipelineConfig
from .construct import MlPipeline
from .targets import LOCAL_PROFILE, LOCAL_SERVICES, STACK_NAME, LocalEndpoint

__all__ = ["LOCAL_SERVICES", "STACK_NAME", "LocalEndpoint", "MlPipelineStack", "build_app", "point_at_emulator"]


def point_at_emulator(provider: AwsProvider, local: LocalEndpoint) -> None:
    """Send every service the pipeline uses to the local emulator, with its throwaway credentials.
    Public so that apps composing the construct (examples/estate) target the emulator the same way."""
    provider.access_key = local.access_key
    provider.secret_key = local.secret_key
    provider.skip_credentials_validation = True
    provider.skip_requesting_account_id = False
    provider.skip_metadata_api_check = "true"
    provider.s3_use_path_style = True
    if local.ca_bundle:
        provider.custom_ca_bundle = local.ca_bundle
    if local.config_file:
        # The endpoint from the profile's `endpoint_url` ("Shared configuration files can be used to
        # set all endpoints to one value, using the parameter endpoint_url in a named profile":
        # hashicorp/terraform-provider-aws, website/docs/guides/custom-service-endpoints.html.markdown).
        # Not an `endpoints` block: with one, every terraform command costs ~4.5 s more CPU (provider
        # 5.100.0: `terraform validate` 8.0 vs 3.5 s, a no-change plan 13 vs 5 s, benchmarks/durable.py),
        # and the port stays out of the stack, so a restart on another port needs no new synth.
        provider.shared_config_files = [local.config_file]
        provider.profile = LOCAL_PROFILE
    else:
        provider.add_override("endpoints", [{service: local.url for service in LOCAL_SERVICES}])


class MlPipelineStack(TerraformStack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: PipelineConfig,
        local: LocalEndpoint | None = None,
        state_file: str | None = None,
        scripts_dir: Path | None = None,
    ) -> None:
        super().__init__(scope, id)
        provider = AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[{"tags": {"Project": config.name_prefix, "ManagedBy": "sfn-ml-pipeline", **config.tags}}],
        )
        if local is not None:
            point_at_emulator(provider, local)
        backend = config.backend
        if local is None and backend.type == "s3":
            s3_backend = S3Backend(
                self,
                bucket=backend.bucket,
                key=backend.key,
                region=backend.region or config.region,
                use_lockfile=backend.use_lockfile,
                encrypt=backend.encrypt,
            )
            if backend.use_lockfile:
                # S3-native locking exists since Terraform/OpenTofu 1.10: declare it (cdktn validates the
                # feature against the declared target versions, default >= 1.5.7) and make Terraform check it.
                s3_backend.node.set_context("targetVersions", {"terraform": ">=1.10.0", "opentofu": ">=1.10.0"})
                self.add_override("terraform.required_version", ">= 1.10")
        elif state_file:
            LocalBackend(self, path=state_file)
        # cdktn-provider-aws binds provider 6.x; the construct only uses arguments 5.100 has too.
        self.add_override("terraform.required_providers.aws.version", config.provider_version)
        extra = {"scripts_dir": scripts_dir} if scripts_dir is not None else {}
        self.pipeline = MlPipeline(self, "pipeline", config=config, **extra)


def build_app(
    config: PipelineConfig,
    *,
    out_dir: Path | None = None,
    local: LocalEndpoint | None = None,
    state_file: str | None = None,
    scripts_dir: Path | None = None,
) -> App:
    """The app with the one stack. ``scripts_dir`` overrides the packaged scripts (tests, forks)."""
    app = App(outdir=str(out_dir)) if out_dir is not None else App()
    MlPipelineStack(app, STACK_NAME, config=config, local=local, state_file=state_file, scripts_dir=scripts_dir)
    return app
