"""The pipeline in private subnets: a VPC without internet access, the VPC endpoints the pipeline's
Lambda and SageMaker jobs need there, and an MlPipeline with ``[network]`` pointing at it.

CDK Terrain app (`cdktn`; the `cdktf` CLI drives it through cdktf.json). Run from this directory:

    python main.py        # synth to ./cdktf.out/stacks/private-network/cdk.tf.json (real AWS provider)

The subnets have no route to the internet (no internet or NAT gateway): everything the pipeline calls
goes through a VPC endpoint (the repository README, "Private subnets", says which and why):

* S3, a gateway endpoint on the subnets' route table: the Lambda writes the dataset; SageMaker moves
  the jobs' data and model artifacts through the VPC; ECR's image layers live in S3;
* interface endpoints with private DNS for CloudWatch Logs, ECR (api and dkr), the SageMaker API and
  runtime, and STS.

Security groups: the pipeline's (the Lambda, the jobs, the model) may talk to its own members (a
training job's hosts, SageMaker: "configure the security group to allow inbound connections between
members of the same security group", https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html)
and reach the endpoints on 443 (and S3's prefix list); the endpoints' accepts 443 from the pipeline's
only. The VPC's default security group is emptied (nothing may use it by accident).
"""

from __future__ import annotations

from cdktn import App, Fn, TerraformOutput, TerraformStack
from cdktn_provider_aws.data_aws_availability_zones import DataAwsAvailabilityZones
from cdktn_provider_aws.default_security_group import DefaultSecurityGroup
from cdktn_provider_aws.provider import AwsProvider
from cdktn_provider_aws.route_table import RouteTable
from cdktn_provider_aws.route_table_association import RouteTableAssociation
from cdktn_provider_aws.security_group import SecurityGroup
from cdktn_provider_aws.subnet import Subnet
from cdktn_provider_aws.vpc import Vpc
from cdktn_provider_aws.vpc_endpoint import VpcEndpoint
from cdktn_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktn_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from sfn_ml_pipeline import MlPipeline, PipelineConfig

REGION = "us-east-1"
CIDR = "10.20.0.0/16"
# Interface endpoints (AWS PrivateLink), each with private DNS so the SDKs' default endpoints resolve
# to it: the README's "Private subnets" table gives the reason and source of each.
INTERFACE_SERVICES = ("logs", "ecr.api", "ecr.dkr", "sagemaker.api", "sagemaker.runtime", "sts")


class PrivateNetwork(TerraformStack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        AwsProvider(self, "aws", region=REGION, default_tags=[{"tags": {"Example": id, "ManagedBy": "cdktn"}}])
        self.add_override("terraform.required_providers.aws.version", ">= 5.100, < 7")

        vpc = Vpc(self, "vpc", cidr_block=CIDR, enable_dns_support=True, enable_dns_hostnames=True)  # private DNS needs both
        DefaultSecurityGroup(self, "default-sg", vpc_id=vpc.id)  # no rules: nothing uses it
        zones = DataAwsAvailabilityZones(self, "zones", state="available")
        routes = RouteTable(self, "private-routes", vpc_id=vpc.id)  # local routes only: no internet
        subnets = []
        for index in range(2):
            subnet = Subnet(
                self, f"private-{index}", vpc_id=vpc.id, cidr_block=Fn.cidrsubnet(CIDR, 8, index),
                availability_zone=Fn.element(zones.names, index), map_public_ip_on_launch=False,
            )
            RouteTableAssociation(self, f"private-{index}-routes", subnet_id=subnet.id, route_table_id=routes.id)
            subnets.append(subnet)

        pipeline_sg = SecurityGroup(self, "pipeline-sg", vpc_id=vpc.id, description="The pipeline's Lambda, jobs and model")
        endpoints_sg = SecurityGroup(self, "endpoints-sg", vpc_id=vpc.id, description="Interface endpoints: HTTPS from the pipeline only")
        VpcSecurityGroupIngressRule(self, "pipeline-members", security_group_id=pipeline_sg.id, referenced_security_group_id=pipeline_sg.id,
                                    ip_protocol="-1", description="between a job's hosts (distributed training)")
        VpcSecurityGroupEgressRule(self, "pipeline-members-out", security_group_id=pipeline_sg.id, referenced_security_group_id=pipeline_sg.id,
                                   ip_protocol="-1", description="between a job's hosts (distributed training)")
        VpcSecurityGroupEgressRule(self, "pipeline-to-endpoints", security_group_id=pipeline_sg.id, referenced_security_group_id=endpoints_sg.id,
                                   ip_protocol="tcp", from_port=443, to_port=443, description="HTTPS to the interface endpoints")
        VpcSecurityGroupIngressRule(self, "endpoints-from-pipeline", security_group_id=endpoints_sg.id, referenced_security_group_id=pipeline_sg.id,
                                    ip_protocol="tcp", from_port=443, to_port=443, description="HTTPS from the pipeline")

        s3 = VpcEndpoint(self, "s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{REGION}.s3", vpc_endpoint_type="Gateway",
                         route_table_ids=[routes.id])
        VpcSecurityGroupEgressRule(self, "pipeline-to-s3", security_group_id=pipeline_sg.id, prefix_list_id=s3.prefix_list_id,
                                   ip_protocol="tcp", from_port=443, to_port=443, description="HTTPS to S3 through the gateway endpoint")
        for service in INTERFACE_SERVICES:
            VpcEndpoint(self, service.replace(".", "-"), vpc_id=vpc.id, service_name=f"com.amazonaws.{REGION}.{service}",
                        vpc_endpoint_type="Interface", private_dns_enabled=True, subnet_ids=[s.id for s in subnets],
                        security_group_ids=[endpoints_sg.id])

        config = PipelineConfig(
            name_prefix="private",
            region=REGION,
            network={"subnet_ids": [s.id for s in subnets], "security_group_ids": [pipeline_sg.id]},
        )
        pipeline = MlPipeline(self, "pipeline", config=config)
        TerraformOutput(self, "state_machine_arn", value=pipeline.state_machine.arn)
        TerraformOutput(self, "subnet_ids", value=[s.id for s in subnets])


def main() -> None:
    app = App()  # outdir from cdktf.json / CDKTF_OUTDIR when driven by the cdktf CLI, else ./cdktf.out
    PrivateNetwork(app, "private-network")
    app.synth()


if __name__ == "__main__":
    main()
