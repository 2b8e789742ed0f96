# A plain Terraform/OpenTofu root module that uses the exported pipeline module.
#
#   pipeline-tools module export ../../build/module      # from this directory, or `make`-style from the repo root
#   terraform init && terraform apply                     # real AWS (your credentials, var.region)
#
# Against the local emulator (`pipeline-tools local up` in the repo root) nothing here changes: the
# provider takes the endpoint, CA bundle, region and throwaway credentials from the standard AWS
# environment variables that `pipeline-tools local env` prints (hashicorp/aws reads AWS_ENDPOINT_URL
# and AWS_ENDPOINT_URL_<SERVICE> like the AWS CLI and boto3; measured with 5.100.0, see README.md):
#   eval "$(cd ../.. && pipeline-tools local env)" && terraform apply

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7"
    }
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "name_prefix" {
  type    = string
  default = "tfroot"
}

# Your VPC: the Lambda and every SageMaker job and model in these private subnets (they need the
# interface and gateway services listed in the repository README, "Private subnets"). Empty: no VPC.
variable "subnet_ids" {
  type    = list(string)
  default = []
}

variable "security_group_ids" {
  type    = list(string)
  default = []
}

provider "aws" {
  region = var.region

  default_tags {
    tags = { Estate = "terraform-root-example" }
  }
}

module "pipeline" {
  source = "../../build/module"

  name_prefix        = var.name_prefix
  tags               = { Team = "ml-platform" }
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  hyperparameters = {
    objective   = "reg:logistic"
    eval_metric = "rmse"
    num_round   = "10"
  }
}

output "bucket" {
  value = module.pipeline.bucket
}

output "state_machine_arn" {
  value = module.pipeline.state_machine_arn
}
