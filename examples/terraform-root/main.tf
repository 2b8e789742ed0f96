# A plain Terraform/OpenTofu root module that uses the exported pipeline module.
#
#   pipeline-tools module export ../../build/module      # from this directory, or `make`-style from the repo root
#   terraform init && terraform apply                     # real AWS (your credentials, var.region)
#
# Against the local emulator (`pipeline-tools local up` in the repo root):
#   terraform apply -var endpoint=https://127.0.0.1:47145 -var ca_bundle=$PWD/../../.pipeline-tools/tls/ca.pem

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

variable "endpoint" {
  type        = string
  default     = null
  description = "URL of the local emulator (pipeline-tools local up). null: real AWS."
}

variable "ca_bundle" {
  type        = string
  default     = null
  description = "CA bundle the emulator's HTTPS certificate chains to (.pipeline-tools/tls/ca.pem)."
}

locals {
  emulated = var.endpoint != null
  # Every service the pipeline touches (sfn_ml_pipeline.targets.LOCAL_SERVICES).
  services = ["cloudwatch", "events", "iam", "kms", "lambda", "logs", "s3", "sagemaker", "sfn", "sts", "xray"]
}

provider "aws" {
  region = var.region

  # Emulator only: throwaway credentials, path-style S3, every endpoint on the emulator.
  access_key                  = local.emulated ? "testing" : null
  secret_key                  = local.emulated ? "testing" : null
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  s3_use_path_style           = local.emulated
  custom_ca_bundle            = var.ca_bundle

  dynamic "endpoints" {
    for_each = local.emulated ? [var.endpoint] : []
    content {
      cloudwatch = endpoints.value
      events     = endpoints.value
      iam        = endpoints.value
      kms        = endpoints.value
      lambda     = endpoints.value
      logs       = endpoints.value
      s3         = endpoints.value
      sagemaker  = endpoints.value
      sfn        = endpoints.value
      sts        = endpoints.value
      xray       = endpoints.value
    }
  }

  default_tags {
    tags = { Estate = "terraform-root-example" }
  }
}

module "pipeline" {
  source = "../../build/module"

  name_prefix = var.name_prefix
  tags        = { Team = "ml-platform" }
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
