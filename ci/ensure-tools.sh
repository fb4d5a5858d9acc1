#!/usr/bin/env bash
# Installs what the build and the tests need when a machine lacks it. Idempotent: a tool
# that is already there is left alone. Sourced by .ci/run; runnable on its own.
set -euo pipefail

need_go_minor=25

have_go() {
  command -v go >/dev/null 2>&1 || return 1
  local v
  v=$(go env GOVERSION 2>/dev/null | sed -E 's/^go1\.([0-9]+).*/\1/')
  [[ "$v" =~ ^[0-9]+$ ]] && (( v >= need_go_minor ))
}

if ! have_go; then
  # The Go module proxy serves official toolchains as modules; fetch one into ~/.cache.
  goversion=go1.26.8
  dest="${XDG_CACHE_HOME:-$HOME/.cache}/kanon/go/$goversion"
  if [[ ! -x "$dest/bin/go" ]]; then
    echo "ci: installing $goversion from the Go module proxy into $dest"
    tmp=$(mktemp -d)
    proxy="${GOPROXY:-https://proxy.golang.org}"; proxy="${proxy%%,*}"
    curl -fsSL "$proxy/golang.org/toolchain/@v/v0.0.1-$goversion.linux-amd64.zip" -o "$tmp/go.zip"
    (cd "$tmp" && python3 -m zipfile -e go.zip .)
    mkdir -p "$(dirname "$dest")"
    rm -rf "$dest"
    mv "$tmp/golang.org/toolchain@v0.0.1-$goversion.linux-amd64" "$dest"
    chmod +x "$dest"/bin/* "$dest"/pkg/tool/*/* 2>/dev/null || true
    rm -rf "$tmp"
  fi
  export PATH="$dest/bin:$PATH"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "ci: cargo is missing; install Rust with rustup (https://rustup.rs)" >&2
  exit 1
fi
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
