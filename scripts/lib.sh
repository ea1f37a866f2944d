# Shared set-up of scripts/run and scripts/test: install only what is missing, skip the rest.
# shellcheck shell=bash

CARGO_LEPTOS_VERSION=0.3.10

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# Timed phases: `phase NAME` ends the previous one and starts NAME; `print_phases` lists them.
PHASE_NAMES=()
PHASE_SECS=()
PHASE_STARTED=
phase_end() {
  if [ -n "$PHASE_STARTED" ]; then
    PHASE_SECS+=($(($(date +%s) - PHASE_STARTED)))
    PHASE_STARTED=
  fi
}
phase() {
  phase_end
  step "$*"
  PHASE_NAMES+=("$*")
  PHASE_STARTED=$(date +%s)
}
print_phases() {
  phase_end
  local i total=0
  echo "time per phase:"
  for i in "${!PHASE_NAMES[@]}"; do
    printf '  %5ss  %s\n' "${PHASE_SECS[$i]:-?}" "${PHASE_NAMES[$i]}"
    total=$((total + ${PHASE_SECS[$i]:-0}))
  done
  printf '  %5ss  in all (%d min)\n' "$total" $((total / 60))
}

# Where cargo puts its build output: target/ unless CARGO_TARGET_DIR says otherwise.
cargo_target_dir() {
  local dir=${CARGO_TARGET_DIR:-target}
  mkdir -p "$dir"
  (cd "$dir" && pwd)
}

# Runs a command as root (directly when already root, else with sudo).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  step "installing Debian packages: $*"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@"
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not installed: install Rust with rustup first (https://rustup.rs)." >&2
    exit 1
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
  mkdir -p target
}

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

ensure_web_toolchain() {
  ensure_rust
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    step "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes 10-20 minutes, once)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  local want
  want=$(wasm_bindgen_version)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    step "installing wasm-bindgen-cli $want (matches the wasm-bindgen crate)"
    # Not --locked: its lockfile names a crate version the registry lacks.
    cargo install wasm-bindgen-cli --version "$want"
  fi
  ensure_node_packages
  # wasm-opt from npm's binaryen: Debian's older one breaks hydration.
  export PATH="$PWD/end2end/node_modules/.bin:$PATH"
}

ensure_node_packages() {
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  if [ ! -d end2end/node_modules/playwright-core ] || [ ! -d end2end/node_modules/binaryen ] || [ ! -d end2end/node_modules/axe-core ]; then
    step "installing Node packages (end2end/package-lock.json)"
    (cd end2end && npm ci --no-audit --no-fund)
  fi
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

# cargo with the environment that `cargo leptos build` (debug) gives the server's build
# (cargo-leptos 0.3.10, `ProjectConfig::to_envs`), so that tests and lints reuse its artifacts
# instead of building a second set.
leptos_cargo() {
  LEPTOS_OUTPUT_NAME=workspaces-portal LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=frontend LEPTOS_BIN_DIR=server \
    LEPTOS_JS_MINIFY=false LEPTOS_HASH_FILES=false RUSTFLAGS="--cfg erase_components" cargo "$@"
}
