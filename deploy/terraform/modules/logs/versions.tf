# modules/logs/versions.tf - the provider this module needs (the environment pins the version).
terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}
