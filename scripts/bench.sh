#!/usr/bin/env bash
# `make bench`: builds the provider with the release flags and measures it
# through the real Terraform CLI against the local fake Graph (see
# internal/e2e/bench_test.go for what each row means). About two minutes.
# PARTNERBILLING_BENCH_SIZES=50,200 limits the plan sizes (and skips the waits).
# TF_ACC_TERRAFORM_PATH names another CLI than terraform on PATH (OpenTofu's tofu, for instance).
set -euo pipefail
cd "$(dirname "$0")/.."
tf=${TF_ACC_TERRAFORM_PATH:-terraform}
command -v "$tf" >/dev/null || { echo "bench: $tf is not on PATH (set TF_ACC_TERRAFORM_PATH to use another CLI)" >&2; exit 1; }
unset TF_LOG TF_LOG_PATH TF_ACC
PARTNERBILLING_BENCH=1 exec go test -count=1 -run '^TestBench$' -v -timeout 30m ./internal/e2e/
