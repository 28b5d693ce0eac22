#!/usr/bin/env bash
# Installs what the harness needs from Debian's archive: QEMU 10 (bookworm-backports),
# Debian's complete Rust toolchain with std sources (rustc-web) and lld, libclang for bindgen,
# and cross binutils for the guests. Idempotent: does nothing when everything is present.
set -euo pipefail

need=()
for bin in qemu-system-aarch64 qemu-system-riscv64 qemu-system-x86_64; do
    command -v "$bin" >/dev/null 2>&1 || need+=(qemu)
done
for f in /usr/bin/rustc /usr/bin/cargo /usr/lib/rustlib/src/rust/library/core/Cargo.toml /usr/bin/ld.lld-22 \
         /usr/bin/aarch64-linux-gnu-as /usr/bin/riscv64-linux-gnu-as /usr/bin/x86_64-linux-gnu-as; do
    [ -e "$f" ] || need+=(toolchain)
done
# libclang for bindgen (ax-posix-api's build script, axvisor >= 0.6) and clang's own headers.
for f in /usr/lib/llvm-22/lib/libclang-22.so.1 /usr/lib/llvm-22/lib/clang/22/include/stddef.h; do
    [ -e "$f" ] || need+=(libclang)
done
for bin in chromium shellcheck xmllint; do  # report and lint tools: the block at the end
    command -v "$bin" >/dev/null 2>&1 || need+=(report-tools)
done
if [ ${#need[@]} -eq 0 ]; then
    echo "install-host-deps: everything present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-host-deps: missing ${need[*]}; run this script as root (apt-get) or install:" >&2
    echo "  qemu-system-arm qemu-system-riscv qemu-system-x86 (bookworm-backports), rustc-web cargo-web rust-web-src lld-22," >&2
    echo "  binutils-aarch64-linux-gnu binutils-riscv64-linux-gnu binutils-x86-64-linux-gnu," >&2
    echo "  libclang1-22 libclang-common-22-dev (bindgen, for axvisor >= 0.6)" >&2
    echo "  and for the report and lint tests: chromium shellcheck libxml2-utils" >&2
    exit 3
fi
export DEBIAN_FRONTEND=noninteractive
bp=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -e "$bp" ]; then
    cat > "$bp" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -q
apt-get install -y -q --no-install-recommends -t bookworm-backports \
    qemu-system-arm qemu-system-riscv qemu-system-x86 qemu-utils opensbi ipxe-qemu seabios
apt-get install -y -q --no-install-recommends \
    rustc-web cargo-web rust-web-src rust-web-llvm lld-22 libclang1-22 libclang-common-22-dev \
    binutils-aarch64-linux-gnu binutils-riscv64-linux-gnu binutils-x86-64-linux-gnu
echo "install-host-deps: done"

# ---- Report and lint tools -------------------------------------------------------------
# Debian's chromium renders report.html in the report test (headless; never a browser
# download), xmllint (libxml2-utils) validates junit.xml against tests/unit/junit.xsd, and the
# lint step of ci/test.sh runs shellcheck on ci/*.sh (actionlint is built there from the Go
# module proxy). Installing them again when present is a no-op.
apt-get install -y -q --no-install-recommends chromium shellcheck libxml2-utils
echo "install-host-deps: report and lint tools present"
