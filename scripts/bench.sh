#!/usr/bin/env bash
# `make bench`: builds the provider with the release flags and measures it
# through the real Terraform CLI against the local fake Graph (see
# internal/e2e/bench_test.go, bench_export_test.go, bench_cpu_test.go, bench_download_test.go and
# bench_download_peers_test.go for what each row means).
# About fifteen minutes (more with PARTNERBILLING_BENCH_HTTP_PROVIDER); the download table's blobs
# (level-6 gzip of billing rows) are generated once and cached in $TMPDIR/partnerbilling-bench-v1.
# The download table (issue 24) against curl, curl -Z and rclone (when installed: apt-get install rclone):
# PARTNERBILLING_BENCH_BASE=<git revision> adds that revision's provider to its rounds;
# PARTNERBILLING_BENCH_WORKLOADS=A,B,C, PARTNERBILLING_BENCH_ROUNDS=3, PARTNERBILLING_BENCH_C_MIB=1024 scale it.
# PARTNERBILLING_BENCH_SIZES=50,200 limits the plan sizes (and skips the waits).
# TF_ACC_TERRAFORM_PATH names another CLI than terraform on PATH (OpenTofu's tofu, for instance).
set -euo pipefail
cd "$(dirname "$0")/.."
# The CLI: TF_ACC_TERRAFORM_PATH, else terraform on PATH, else tofu on PATH (OpenTofu only).
tf=${TF_ACC_TERRAFORM_PATH:-$(command -v terraform || command -v tofu || true)}
[ -n "$tf" ] && command -v "$tf" >/dev/null ||
  { echo "bench: no CLI to run: put terraform or tofu on PATH, or set TF_ACC_TERRAFORM_PATH (now '${TF_ACC_TERRAFORM_PATH:-}')" >&2; exit 1; }
export TF_ACC_TERRAFORM_PATH=$tf
unset TF_LOG TF_LOG_PATH TF_ACC
PARTNERBILLING_BENCH=1 exec go test -count=1 -run '^TestBench(Exports|CPU|Download|DownloadPeers|Copy)?$' -v -timeout 30m ./internal/e2e/
