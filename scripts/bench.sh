#!/usr/bin/env bash
# `make bench`: builds the provider with the release flags and measures it
# through the real Terraform CLI against the local fake Graph (see
# internal/e2e/bench_test.go and bench_export_test.go for what each row means). About two minutes.
# PARTNERBILLING_BENCH_SIZES=50,200 limits the plan sizes (and skips the waits).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v terraform >/dev/null || { echo "bench: terraform is not on PATH" >&2; exit 1; }
unset TF_LOG TF_LOG_PATH TF_ACC
PARTNERBILLING_BENCH=1 exec go test -count=1 -run '^TestBench(Exports)?$' -v -timeout 30m ./internal/e2e/
