#!/usr/bin/env bash
# `make tofu`: builds OpenTofu $OPENTOFU_VERSION once into $TOFU (a cache folder outside the
# repository) and prints its version; a binary already there is reused.
#
# OpenTofu comes from the Go module proxy, as source: `go install ...@version` is refused because
# its go.mod has a replace directive, but building inside the downloaded module works. The flags
# are those of OpenTofu's own .goreleaser.yaml (static, -trimpath, version.dev=no), so the binary
# reports "OpenTofu v1.12.6" (not "-dev") and sends the provider the version a user's release
# binary sends. Cold, the build takes about 10 minutes on two cores.
#
# The build writes to a temporary directory next to $TOFU and renames it into place only after the new
# binary has run `version`: an interrupted or failed build never leaves a broken binary behind, and
# two builds at once each rename a complete one.
set -euo pipefail

version=${OPENTOFU_VERSION:?OPENTOFU_VERSION is not set}
bin=${TOFU:?TOFU is not set}
go=${GO:-go}
module=github.com/opentofu/opentofu

# Without a CLI config of our own, a TF_CLI_CONFIG_FILE that points nowhere makes every tofu run
# print a warning.
tofu_version() { env -u TF_CLI_CONFIG_FILE "$1" version 2>/dev/null | head -n 1; }

# A release binary says "OpenTofu v1.12.6"; one built without version.dev=no says
# "OpenTofu v1.12.6-dev" and is just as usable for the tests.
want_re="^OpenTofu v${version//./\\.}(-dev)?\$"

if [ -x "$bin" ]; then
  have=$(tofu_version "$bin" || true)
  if [[ $have =~ $want_re ]]; then
    echo "tofu: reusing $bin"
    echo "$have"
    exit 0
  fi
  echo "tofu: $bin reports \"${have:-nothing}\", not OpenTofu v$version; building it again" >&2
fi

dir=$(dirname "$bin")
mkdir -p "$dir"
# A directory of its own next to $TOFU (same file system, so the final mv is a rename); go build
# refuses to write over a file that is not already an executable, such as an empty mktemp file.
build=$(mktemp -d "$dir/.tofu-build.XXXXXX")
tmp=$build/tofu
work=$(mktemp -d)
trap 'rm -rf "$build" "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "tofu: downloading $module@v$version from the Go module proxy ($($go env GOPROXY))"
# Outside any module, so that the provider's go.mod and go.sum are never touched.
info=$(cd "$work" && GO111MODULE=on GOFLAGS=-mod=mod GOWORK=off $go mod download -json "$module@v$version")
src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
  echo "tofu: go mod download did not report the module's directory:" >&2
  echo "$info" >&2
  exit 1
fi

echo "tofu: building $src/cmd/tofu (about 10 minutes on two cores when cold)"
start=$SECONDS
(cd "$src" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=readonly \
  $go build -trimpath -ldflags "-s -w -X $module/version.dev=no" -o "$tmp" ./cmd/tofu)
have=$(tofu_version "$tmp" || true)
if [[ ! $have =~ $want_re ]]; then
  echo "tofu: the new binary reports \"${have:-nothing}\", want OpenTofu v$version" >&2
  exit 1
fi
mv -f "$tmp" "$bin"
echo "tofu: built $bin in $((SECONDS - start))s"
echo "$have"
