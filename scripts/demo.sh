#!/usr/bin/env bash
# Runs examples/demo against a local fake of Microsoft Graph and the Microsoft
# identity platform (cmd/fakegraph): no Azure tenant, no network, no secrets.
# Used by `make demo`. Needs go and terraform on PATH.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/partnerbilling-demo.XXXXXX")"
fake_pid=""

cleanup() {
  local rc=$?
  if [[ -n "$fake_pid" ]] && kill -0 "$fake_pid" 2>/dev/null; then
    kill -TERM "$fake_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$fake_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v terraform >/dev/null || { echo "demo: terraform is not on PATH" >&2; exit 1; }

echo "==> building the provider and the fake Graph into $tmp/bin"
mkdir -p "$tmp/bin"
(cd "$repo" && go build -o "$tmp/bin/terraform-provider-partnerbilling" .)
(cd "$repo" && go build -o "$tmp/fakegraph" ./cmd/fakegraph)

echo "==> starting the fake Graph"
"$tmp/fakegraph" -ca-file "$tmp/ca.pem" -env-file "$tmp/fake.env" 2>"$tmp/fakegraph.log" &
fake_pid=$!

for _ in $(seq 100); do
  [[ -f "$tmp/fake.env" ]] && break
  if ! kill -0 "$fake_pid" 2>/dev/null; then
    echo "demo: the fake Graph exited early:" >&2
    cat "$tmp/fakegraph.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ ! -f "$tmp/fake.env" ]]; then
  echo "demo: the fake Graph did not start within 10s:" >&2
  cat "$tmp/fakegraph.log" >&2
  exit 1
fi

cat >"$tmp/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "partnerbilling/partnerbilling" = "$tmp/bin"
  }
  direct {}
}
EOF
export TF_CLI_CONFIG_FILE="$tmp/terraformrc"
export TF_IN_AUTOMATION=1
# shellcheck disable=SC1091
source "$tmp/fake.env"

mkdir -p "$tmp/work"
cp -R "$repo/examples/demo/." "$tmp/work/"
cd "$tmp/work"

# Colours only for a terminal; a log file or CI page gets plain text. (The
# ${a[@]+...} form keeps an empty array safe under set -u in bash 3.2 too.)
color=()
[[ -t 1 ]] || color=(-no-color)

echo "==> terraform apply (the provider starts an export and polls it and a running one; this takes a few seconds)"
echo "    (the warning \"Provider development overrides are in effect\" is expected: the demo uses the provider it just built)"
terraform apply -auto-approve -input=false ${color[@]+"${color[@]}"}

echo
echo "==> terraform plan (an unchanged configuration: one GET per export or operation, no new export)"
terraform plan -input=false -detailed-exitcode ${color[@]+"${color[@]}"} >"$tmp/plan.log" || {
  rc=$?
  cat "$tmp/plan.log"
  echo "demo: the plan after apply was not empty (exit $rc)" >&2
  exit 1
}
tail -n 3 "$tmp/plan.log"

echo
echo "==> requests the provider sent to the fake Graph"
cat "$tmp/fakegraph.log"

cat <<'EOF'

What to look at:
  * export_operation_id and export_manifest_id: the export resource sent one
    POST .../usage/billed/export, took the operation id from the 202's
    Location header, and polled that operation until it succeeded.
  * status = "succeeded" and manifest_id = "8fe347d7-...": the data source with
    wait_timeout polled the running export (the fake answered "running" three
    times with Retry-After: 1) until it succeeded, and reduced the manifest
    link to its id.
  * error_code = "5000", error_message = "No data available": for the data
    source a failed export is data, not an error; the run still succeeds. A
    postcondition on manifest_id != null stops a pipeline on it
    (docs/data-sources/operation.md). An export resource whose export fails
    fails the apply instead, and is replaced by the next one.
  * The request log: one OpenID discovery GET and one token request per
    provider process that calls Graph, shared by everything that process
    does. Terraform starts one to plan (the two data sources: GETs of their
    operations, about a second apart for the one being waited on), one to
    apply (the export's one POST, then GETs of its operation), and one for
    the final plan (one GET per export or operation, and no POST). The fake
    logs only method, path, status and duration, never headers; to see the
    provider's own log, run TF_LOG_PROVIDER=DEBUG make demo.
EOF
