# environments/example/versions.tf - Terraform and provider versions, the provider's project and
# region, and (commented) where to keep the state.
terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }

  # Keep the state in a bucket of its own (versioned, not one of bizoope's), e.g.:
  # backend "gcs" {
  #   bucket = "retail-prod-1-tfstate"
  #   prefix = "bizoope"
  # }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
