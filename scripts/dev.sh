#!/usr/bin/env bash
# `make dev`: try your own configuration against the bundled fake, with no tenant and no
# credentials. Builds the provider and cmd/fakegraph, starts the fake (Microsoft Graph, the
# identity platform, Partner Center and a blob store, over TLS on 127.0.0.1), writes a CLI config
# with dev_overrides for the provider just built, and prints what to export in another shell. It
# stays up until Ctrl-C, then stops the fake and removes everything it wrote.
#
# DEV_DIR names the folder to use (default: a new one under $TMPDIR); DEV_ADDR the fake's listen
# address (default 127.0.0.1:0, any free port).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir=${DEV_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/partnerbilling-dev.XXXXXX")}
mkdir -p "$dir/bin"
fake_pid=""

cleanup() {
  local rc=$?
  if [[ -n "$fake_pid" ]] && kill -0 "$fake_pid" 2>/dev/null; then
    kill -TERM "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  echo "dev: stopped the fake and removed $dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

echo "==> building the provider and the fake into $dir/bin"
(cd "$repo" && go build -o "$dir/bin/terraform-provider-partnerbilling" .)
(cd "$repo" && go build -o "$dir/fakegraph" ./cmd/fakegraph)

cat >"$dir/terraformrc" <<RC
# dev_overrides: Terraform and OpenTofu use the provider built from this tree, with no
# \`terraform init\` and no registry.
provider_installation {
  dev_overrides {
    "partnerbilling/partnerbilling" = "$dir/bin"
  }
  direct {}
}
RC

"$dir/fakegraph" -addr "${DEV_ADDR:-127.0.0.1:0}" -ca-file "$dir/ca.pem" -env-file "$dir/fake.env" 2>"$dir/fakegraph.log" &
fake_pid=$!
for _ in $(seq 100); do
  [[ -f "$dir/fake.env" ]] && break
  kill -0 "$fake_pid" 2>/dev/null || { cat "$dir/fakegraph.log" >&2; echo "dev: the fake exited early" >&2; exit 1; }
  sleep 0.1
done
[[ -f "$dir/fake.env" ]] || { cat "$dir/fakegraph.log" >&2; echo "dev: the fake did not start within 10s" >&2; exit 1; }

{
  cat "$dir/fake.env"
  echo "export TF_CLI_CONFIG_FILE='$dir/terraformrc'"
} >"$dir/dev.env"

cat <<MSG

The fake is running. In another shell, in a folder with your own .tf files:

    source $dir/dev.env
    terraform plan       # skip \`terraform init\`: dev_overrides needs none (and the registry is not reached)
    terraform apply

dev.env sets (the client secret is the fake's own, made up for this run):
$(sed -E 's/^export ([A-Z_]+)=.*/    \1/' "$dir/dev.env")

Rehearse failures with the fake's special invoice ids (billed exports):
    G000000404  the POST is refused with 400 (an unknown or too old invoice)
    G000005000  the export fails: error_code "5000", "No data available"

Requests the fake receives are logged to $dir/fakegraph.log (tail -f it).
Ctrl-C here stops the fake and removes $dir.
MSG

wait "$fake_pid"
