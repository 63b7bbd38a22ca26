#!/usr/bin/env bash
# Checks every Terraform example under examples/ (used by `make examples-check` and CI):
#
#   1. `terraform fmt -check -recursive -diff examples/`
#   2. `terraform validate` in each directory that holds .tf files, against a provider binary
#      built from this tree and wired in with dev_overrides, so no `terraform init`, no registry
#      and no network are needed.
#   3. scripts/checkpipelines on every CI pipeline example (*.yml): GitHub Actions workflows and
#      Azure Pipelines definitions.
#
# The tfplugindocs example directories (examples/provider, examples/data-sources/<name>, ...) are
# snippets without a `terraform { required_providers }` block; they are validated as standalone
# configurations in a temp copy with a generated versions.tf. Directories that declare their own
# required_providers are validated in place, with TF_DATA_DIR pointing outside the tree.
# Nothing is written under examples/.
#
# TF_ACC_TERRAFORM_PATH names another CLI than terraform on PATH: `make test-opentofu` runs this
# check with OpenTofu's tofu too (the short address in dev_overrides matches on both CLIs).
#
# Action examples (a directory with an `action` block or an `action_trigger`: examples/actions/...)
# need Terraform 1.14 or later: they are validated with the CLI when it is one, else with
# TERRAFORM_ACTIONS (default: Terraform 1.15.9 in ~/.cache/partnerbilling-terraform, where the
# tests find it too) when that is one, else skipped with a note. Every other example is validated
# with the CLI, as strictly as ever.
set -euo pipefail

cd "$(dirname "$0")/.."

source_addr="partnerbilling/partnerbilling"
# The CLI: TF_ACC_TERRAFORM_PATH, else terraform on PATH, else tofu on PATH (OpenTofu only).
tf=${TF_ACC_TERRAFORM_PATH:-$(command -v terraform || command -v tofu || echo terraform)}
name=$(basename "$tf")

actions_tf=${TERRAFORM_ACTIONS:-${XDG_CACHE_HOME:-$HOME/.cache}/partnerbilling-terraform/1.15.9/terraform}

# has_actions CLI: it is Terraform 1.14 or later (OpenTofu has no actions).
has_actions() {
  [ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || return 1
  local first
  first=$(TF_CLI_CONFIG_FILE= CHECKPOINT_DISABLE=1 "$1" version 2>/dev/null | head -n 1)
  [[ $first =~ ^Terraform\ v([0-9]+)\.([0-9]+)\. ]] || return 1
  [ "${BASH_REMATCH[1]}" -gt 1 ] || { [ "${BASH_REMATCH[1]}" -eq 1 ] && [ "${BASH_REMATCH[2]}" -ge 14 ]; }
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -d examples ]; then
  echo "check-examples: no examples/ directory" >&2
  exit 1
fi

# Our own CLI config: dev_overrides for the binary built below, and never the user's (or a
# missing) ~/.terraformrc.
mkdir -p "$tmp/bin"
cat >"$tmp/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "$source_addr" = "$tmp/bin"
  }
  direct {}
}
EOF
export TF_CLI_CONFIG_FILE="$tmp/terraformrc"
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1
unset TF_LOG TF_WORKSPACE

echo "==> $name fmt -check -recursive -diff examples/"
if ! "$tf" fmt -check -recursive -diff examples/; then
  echo "check-examples: the files above are not formatted; run 'make fmt' (or $name fmt -recursive examples/)" >&2
  exit 1
fi

mapfile -t dirs < <(find examples -name .terraform -prune -o -type f -name '*.tf' -printf '%h\n' | sort -u)
if [ "${#dirs[@]}" -eq 0 ]; then
  echo "check-examples: no .tf files under examples/; nothing to validate"
  exit 0
fi

echo "==> go build -o $tmp/bin/terraform-provider-partnerbilling ."
go build -o "$tmp/bin/terraform-provider-partnerbilling" .

# The CLI for action examples, or "" to skip them.
if has_actions "$tf"; then
  action_cli=$tf
elif has_actions "$actions_tf"; then
  action_cli=$actions_tf
else
  action_cli=
fi

failed=()
skipped=()
n=0
for dir in "${dirs[@]}"; do
  n=$((n + 1))
  cli=$tf
  if grep -Eqs '^[[:space:]]*(action[[:space:]]+"|action_trigger[[:space:]]*\{)' "$dir"/*.tf; then
    if [ -z "$action_cli" ]; then
      echo "==> skipping $dir: actions need Terraform >= 1.14, and neither $tf nor $actions_tf is one (set TERRAFORM_ACTIONS)"
      skipped+=("$dir")
      continue
    fi
    cli=$action_cli
  fi
  if [ "$cli" = "$tf" ]; then
    echo "==> $name validate $dir"
  else
    echo "==> $cli validate $dir (an action example)"
  fi
  if grep -Eqs '^[[:space:]]*required_providers[[:space:]]*\{' "$dir"/*.tf; then
    if ! TF_DATA_DIR="$tmp/data-$n" "$cli" -chdir="$dir" validate -no-color; then
      failed+=("$dir")
    fi
  else
    work="$tmp/example-$n"
    mkdir -p "$work"
    # Copy the whole directory (not only *.tf) so file() and templatefile() references resolve.
    cp -R "$dir"/. "$work"/
    rm -rf "$work/.terraform" "$work/.terraform.lock.hcl" "$work"/*.tfstate "$work"/*.tfstate.*
    cat >"$work/zz_check_examples_versions.tf" <<EOF
terraform {
  required_providers {
    partnerbilling = {
      source = "$source_addr"
    }
  }
}
EOF
    if ! TF_DATA_DIR="$tmp/data-$n" "$cli" -chdir="$work" validate -no-color; then
      failed+=("$dir")
    fi
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo >&2
  echo "check-examples: $name validate failed for ${#failed[@]} of ${#dirs[@]} example(s):" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
# The CI pipelines the docs show (GitHub Actions workflows, Azure Pipelines definitions): parsed,
# their schedules' cron checked, their ARM_*/PARTNERBILLING_* names checked against the provider's
# source and their TF_VAR_* names against the variables of the .tf files beside them.
mapfile -t pipelines < <(find examples -name .terraform -prune -o -type f \( -name '*.yml' -o -name '*.yaml' \) -print | sort)
if [ "${#pipelines[@]}" -gt 0 ]; then
  echo "==> checkpipelines ${pipelines[*]}"
  go run ./scripts/checkpipelines ./internal/provider "${pipelines[@]}"
fi

checked=$((${#dirs[@]} - ${#skipped[@]}))
echo "check-examples: $checked example(s) formatted and valid ($("$tf" version | head -n 1)${action_cli:+; action examples: $("$action_cli" version | head -n 1)})"
if [ "${#skipped[@]}" -gt 0 ]; then
  echo "check-examples: ${#skipped[@]} action example(s) not validated: no Terraform >= 1.14 (set TERRAFORM_ACTIONS)"
fi
