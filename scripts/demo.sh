#!/usr/bin/env bash
# Runs examples/demo against a local fake of Microsoft Graph and the Microsoft
# identity platform (cmd/fakegraph): no Azure tenant, no network, no secrets.
# Used by `make demo`. Needs go and terraform on PATH, or
# TF_ACC_TERRAFORM_PATH naming the CLI to use instead (OpenTofu >= 1.11, after `make tofu`:
# `make demo TF_ACC_TERRAFORM_PATH=~/.cache/partnerbilling-tofu/v1.12.6/tofu`).
# DEMO_KEEP=1 keeps the working directory (state, downloads) instead of
# removing it on exit.
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
  if [[ -n "${DEMO_KEEP:-}" ]]; then
    echo "demo: DEMO_KEEP is set: the working directory and the downloads stay in $tmp/work" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The CLI: TF_ACC_TERRAFORM_PATH, else terraform on PATH, else tofu on PATH (OpenTofu only).
tf=${TF_ACC_TERRAFORM_PATH:-$(command -v terraform || command -v tofu || true)}
[ -n "$tf" ] && command -v "$tf" >/dev/null ||
  { echo "demo: no CLI to run: put terraform or tofu on PATH, or set TF_ACC_TERRAFORM_PATH (now '${TF_ACC_TERRAFORM_PATH:-}')" >&2; exit 1; }

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

echo "==> $(basename "$tf") apply (the monthly close: list the invoices, one export per invoice, download each export's files; and read an export started elsewhere; a few seconds)"
echo "    (the warning \"Provider development overrides are in effect\" is expected: the demo uses the provider it just built)"
"$tf" apply -auto-approve -input=false ${color[@]+"${color[@]}"}

echo
echo "==> the files partnerbilling_manifest_files downloaded (removed on exit; DEMO_KEEP=1 make demo keeps them)"
"$tf" output -json files | tr -d '[]"' | tr ',' '\n' | sed 's/^/    /'
echo "    total rows: $("$tf" output -raw total_rows)"
echo "    sha256sum of the files on disk (the same hashes as files[*].sha256 in the state):"
find downloads -type f | sort | while read -r f; do printf '    %s\n' "$(sha256sum "$f")"; done

echo
echo "==> grep -cE 'sig=|sv=20' terraform.tfstate   (any SAS token has both)"
if grep -qE 'sig=|sv=20' terraform.tfstate; then
  echo "demo: the state holds a SAS token" >&2
  exit 1
fi
echo "    $(grep -cE 'sig=|sv=20' terraform.tfstate || true) matches: the state has the manifests, never their token or URLs"

posts_before=$(grep -c 'POST /v1.0/' "$tmp/fakegraph.log" || true)
echo
echo "==> $(basename "$tf") plan (the next scheduled run: no new invoice, so no change and no POST)"
"$tf" plan -input=false -detailed-exitcode ${color[@]+"${color[@]}"} >"$tmp/plan.log" || {
  rc=$?
  cat "$tmp/plan.log"
  echo "demo: the plan after apply was not empty (exit $rc)" >&2
  exit 1
}
tail -n 3 "$tmp/plan.log"
posts_after=$(grep -c 'POST /v1.0/' "$tmp/fakegraph.log" || true)
if [[ "$posts_after" != "$posts_before" ]]; then
  echo "demo: the plan sent a POST" >&2
  exit 1
fi
echo "    POSTs to Graph: $posts_after in all (one per invoice), none from the plan"

echo
echo "==> requests sent to the fake (Graph, Partner Center, the identity platform and the blob store)"
cat "$tmp/fakegraph.log"

cat <<'EOF'

What to look at:
  * invoices: partnerbilling_invoices listed the partner's invoices from
    Partner Center (GET /v1/invoices, with a Partner Center token of its own)
    and kept the two new-commerce invoices; money stays an exact string.
  * exports: one partnerbilling_billed_reconciliation_export per invoice
    (for_each): each sent one POST .../reconciliation/billed/export with that
    invoice id, took the operation id from the 202's Location header, and
    polled the operation until it succeeded.
  * files and total_rows: partnerbilling_manifest_files read each export's
    manifest itself and downloaded every blob with its SAS token; the fake
    blob store checked the SAS signature before serving the gzip JSON Lines.
    Each file was streamed to a temporary file, its gzip decoded to the end,
    its rows counted and hashed, then renamed into place: files, rows and
    sha256 are in the state, the SAS token is not.
  * The plan after the apply is what a scheduled run with no new invoice
    does: one invoice listing, one GET per export, no POST, no change.
  * status = "succeeded": the data source with wait_timeout polled an export
    started elsewhere (the fake answered "running" three times with
    Retry-After: 1) until it succeeded, and reduced the manifest link to its
    id; data.partnerbilling_manifest then read that manifest (state-safe: no
    SAS token, no URL).
  * error_code = "5000", error_message = "No data available": for the data
    source a failed export is data, not an error; the run still succeeds. A
    postcondition on manifest_id != null stops a pipeline on it. An export
    resource whose export fails fails the apply instead, and is replaced by
    the next one.
  * The request log: per provider process, one OpenID discovery GET and one
    token request per service it calls (Graph, Partner Center), shared by
    everything that process does. The blob downloads (GET /partnerbilling/...)
    carry the SAS token (the log never shows a query string). The fake logs
    only method, path, status and duration, never headers or query strings;
    to see the provider's own log, run TF_LOG_PROVIDER=DEBUG make demo.
EOF
