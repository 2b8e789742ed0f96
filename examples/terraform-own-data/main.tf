# Your data and your code from plain Terraform/OpenTofu: a root module that calls the module
# `pipeline-tools module export` writes for examples/own-data's config (your preprocess.py, built-in
# XGBoost on its train and validation outputs). The code folder ships inside the module (assets/);
# where the data is, and under which name, are this root module's inputs.
#
#   pipeline-tools module export build/own-data-module --config examples/own-data/pipeline.toml   # from the repo root
#   terraform init && terraform apply                                                               # real AWS (your credentials)
#
# Against the local emulator nothing here changes (see ../terraform-root/README.md):
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
  default = "cancer-tf"
}

# Where your table is: every execution reads everything under this prefix (or a location under it
# that its input names). Put the data there first: aws s3 cp ../own-data/data/ s3://.../breast-cancer/ --recursive
variable "input_s3_uri" {
  type    = string
  default = "s3://my-team-data/breast-cancer/"
}

# The key of your objects, when they are SSE-KMS encrypted (null: they are not).
variable "input_kms_key_arn" {
  type    = string
  default = null
}

# The state machine's query language: JSONPath, or JSONata (the same states, translated).
variable "query_language" {
  type    = string
  default = "JSONPath"
}

provider "aws" {
  region = var.region

  default_tags {
    tags = { Estate = "terraform-own-data-example" }
  }
}

module "pipeline" {
  source = "../../build/own-data-module"

  name_prefix       = var.name_prefix
  input_s3_uri      = var.input_s3_uri
  input_kms_key_arn = var.input_kms_key_arn
  query_language    = var.query_language
  tags              = { Team = "cancer-research" }
}

output "bucket" {
  value = module.pipeline.bucket
}

output "state_machine_arn" {
  value = module.pipeline.state_machine_arn
}

output "sagemaker_role_arn" {
  value = module.pipeline.sagemaker_role_arn
}
