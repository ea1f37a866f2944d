# Shared helpers of scripts/run and scripts/test: install only what is missing.
# shellcheck shell=bash

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not installed: install Rust with rustup first (https://rustup.rs)." >&2
    exit 1
  fi
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  mkdir -p target
}

# Prints one closing line 'N passed, N failed' over all cargo test binaries.
summarise_cargo_tests() {
  local file=$1
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
       END { printf "cargo tests: %d passed, %d failed\n", p, f }' "$file"
}
