# modules/metrics/versions.tf - the Terraform version this module needs (it renders
# configuration only and uses no provider).
terraform {
  required_version = ">= 1.5"
}
