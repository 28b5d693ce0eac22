#!/usr/bin/env bash
# Installs what the harness needs from Debian's archive: QEMU 10 (bookworm-backports),
# Debian's complete Rust toolchain with std sources (rustc-web) and lld, libclang for bindgen,
# and cross binutils for the guests. Idempotent: does nothing when everything is present.
#
#   ci/install-host-deps.sh                            install what is missing (as root)
#   ci/install-host-deps.sh --print-backports-source   print the bookworm-backports source this
#                                                      machine would get, and change nothing
#
# The bookworm-backports source is derived from the machine's own bookworm entry (URIs and
# Signed-By of /etc/apt/sources.list.d/*.sources, else of /etc/apt/sources.list{,.d/*.list}):
# a machine behind a mirror or a proxy keeps using it. $AXH_APT_ETC replaces /etc/apt (tests).
set -euo pipefail
apt_etc=${AXH_APT_ETC:-/etc/apt}

# The deb822 paragraph of the first enabled `deb` entry for suite bookworm, as a
# bookworm-backports source with the same URIs and Signed-By; nothing if there is none.
backports_from_deb822() {
    awk '
        function flush() {
            if (!done && uris != "" && tolower(enabled) != "no" && (" " types " ") ~ / deb / \
                && (" " suites " ") ~ / bookworm /) {
                print "Types: deb"
                print "URIs: " uris
                print "Suites: bookworm-backports"
                print "Components: main"
                if (signed != "") print "Signed-By: " signed
                done = 1
            }
            types = suites = uris = signed = enabled = field = ""
        }
        FNR == 1 { flush() }
        /^#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ { if (field == "signed-by") signed = signed "\n" $0; next }  # continuation
        {
            field = tolower(substr($0, 1, index($0, ":") - 1))
            value = substr($0, index($0, ":") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", value)
            gsub(/[ \t]+/, " ", value)
            if (field == "types") types = value
            else if (field == "suites") suites = value
            else if (field == "uris") uris = value
            else if (field == "signed-by") signed = value
            else if (field == "enabled") enabled = value
        }
        END { flush() }' "$@"
}

# The same from one-line entries: `deb [signed-by=KEYRING ...] URI bookworm COMPONENTS`.
backports_from_lines() {
    awk '
        !done && $1 == "deb" {
            i = 2; opts = ""
            if ($2 ~ /^\[/) {
                while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ }
            }
            if ($(i + 1) != "bookworm") next
            print "Types: deb"
            print "URIs: " $i
            print "Suites: bookworm-backports"
            print "Components: main"
            gsub(/[][]/, " ", opts)
            n = split(opts, o, /[ \t]+/)
            for (k = 1; k <= n; k++)
                if (o[k] ~ /^signed-by=/) print "Signed-By: " substr(o[k], 11)
            done = 1
        }' "$@"
}

backports_source() {
    local deb822=() lines=() f src
    for f in "$apt_etc"/sources.list.d/*.sources; do
        [ -f "$f" ] && deb822+=("$f")
    done
    for f in "$apt_etc/sources.list" "$apt_etc"/sources.list.d/*.list; do
        [ -f "$f" ] && lines+=("$f")
    done
    src=""
    if [ ${#deb822[@]} -gt 0 ]; then
        src=$(backports_from_deb822 "${deb822[@]}")
    fi
    if [ -z "$src" ] && [ ${#lines[@]} -gt 0 ]; then
        src=$(backports_from_lines "${lines[@]}")
    fi
    if [ -z "$src" ]; then
        echo "install-host-deps: no Debian bookworm entry (\`deb\` with suite bookworm) in" \
            "$apt_etc/sources.list.d/*.sources, $apt_etc/sources.list or" \
            "$apt_etc/sources.list.d/*.list: the bookworm-backports source (QEMU 10) is derived" \
            "from its mirror; add one, or add bookworm-backports yourself" >&2
        return 3
    fi
    printf '%s\n' "$src"
}

# Whether some source already names bookworm-backports (then it is left as it is).
have_backports() {
    local f
    for f in "$apt_etc"/sources.list.d/*.sources; do
        [ -f "$f" ] && grep -Eq '^Suites:.*[[:space:]]bookworm-backports([[:space:]]|$)' "$f" \
            && return 0
    done
    for f in "$apt_etc/sources.list" "$apt_etc"/sources.list.d/*.list; do
        [ -f "$f" ] && grep -Eq '^[[:space:]]*deb[[:space:]].*[[:space:]]bookworm-backports([[:space:]]|$)' "$f" \
            && return 0
    done
    return 1
}

if [ "${1:-}" = --print-backports-source ]; then
    backports_source
    exit
fi

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
# dtc compiles the riscv64 Linux guest's device tree (guest-src/linux/riscv64.dts).
command -v dtc >/dev/null 2>&1 || need+=(dtc)
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
    echo "  device-tree-compiler (the riscv64 Linux guest's DTB)" >&2
    echo "  and for the report and lint tests: chromium shellcheck libxml2-utils" >&2
    exit 3
fi
export DEBIAN_FRONTEND=noninteractive
bp=$apt_etc/sources.list.d/bookworm-backports.sources
if [ ! -e "$bp" ] && ! have_backports; then
    src=$(backports_source) || exit 3
    printf '%s\n' "$src" > "$bp"
    echo "install-host-deps: wrote $bp from this machine's bookworm entry:"
    sed 's/^/  /' "$bp"
fi
apt-get update -q
apt-get install -y -q --no-install-recommends -t bookworm-backports \
    qemu-system-arm qemu-system-riscv qemu-system-x86 qemu-utils opensbi ipxe-qemu seabios
apt-get install -y -q --no-install-recommends \
    rustc-web cargo-web rust-web-src rust-web-llvm lld-22 libclang1-22 libclang-common-22-dev \
    binutils-aarch64-linux-gnu binutils-riscv64-linux-gnu binutils-x86-64-linux-gnu \
    device-tree-compiler
echo "install-host-deps: done"

# ---- Report and lint tools -------------------------------------------------------------
# Debian's chromium renders report.html in the report test (headless; never a browser
# download), xmllint (libxml2-utils) validates junit.xml against tests/unit/junit.xsd, and the
# lint step of ci/test.sh runs shellcheck on ci/*.sh (actionlint is built there from the Go
# module proxy). Installing them again when present is a no-op.
apt-get install -y -q --no-install-recommends chromium shellcheck libxml2-utils
echo "install-host-deps: report and lint tools present"
