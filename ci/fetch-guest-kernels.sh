#!/usr/bin/env bash
# Fetch the real Linux guests of the images in images/recipes-linux/: Debian's arm64 and riscv64
# kernel packages and busybox-static, through a SEPARATE apt configuration (its own sources
# list, lists, cache and an empty dpkg status; the host's apt state is read by nothing and
# written by nothing), then unpack them (dpkg-deb -x, no install) and make the guest files the
# recipes embed (python -m harness.oracle.linux.prepare: initramfs and DTBs).
#
#   ci/fetch-guest-kernels.sh [--update] [arm64] [riscv64]
#
# --update   refresh the package lists and fetch the newest kernel of the suite (default: use
#            what is already fetched; the first run always updates)
# arm64, riscv64   the Debian architectures to fetch (default: both)
#
# Environment: AXHARNESS_GUESTS  where everything goes (default ~/.cache/axharness/guests)
#              PYTHON            the interpreter with the harness (default .venv/bin/python)
# Writes $AXHARNESS_GUESTS/debian-{arm64,riscv64}/{Image,busybox,initramfs.cpio,*.dtb,VERSIONS}.
# Idempotent: a second run with the packages in place downloads nothing. Exit 3 if apt-get or
# dpkg-deb is missing or the archive cannot be reached.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
guests=${AXHARNESS_GUESTS:-$HOME/.cache/axharness/guests}
python=${PYTHON:-$here/.venv/bin/python}
suite=trixie
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

update=false
arches=()
for arg in "$@"; do
    case $arg in
        --update) update=true ;;
        arm64|riscv64) arches+=("$arg") ;;
        *) echo "fetch-guest-kernels.sh: unknown argument $arg (usage: [--update] [arm64] [riscv64])" >&2
           exit 1 ;;
    esac
done
if [ ${#arches[@]} -eq 0 ]; then
    arches=(arm64 riscv64)
fi
for tool in apt-get apt-cache dpkg-deb; do
    if ! command -v "$tool" >/dev/null; then
        echo "fetch-guest-kernels.sh: $tool is missing (Debian's apt and dpkg are needed)" >&2
        exit 3
    fi
done
if [ ! -r "$keyring" ]; then
    echo "fetch-guest-kernels.sh: $keyring is missing (package debian-archive-keyring)" >&2
    exit 3
fi

apt_dir=$guests/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" \
    "$apt_dir/preferences.d" "$guests/debs"
printf 'deb [arch=arm64,riscv64 signed-by=%s] http://deb.debian.org/debian %s main\n' \
    "$keyring" "$suite" > "$apt_dir/sources.list"
touch "$apt_dir/status"
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/parts"
    -o "Dir::Etc::Preferences=$apt_dir/preferences"
    -o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architecture=arm64"
    -o "APT::Architectures::=arm64"
    -o "APT::Architectures::=riscv64"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=$(id -un)"
)

if [ "$update" = true ] || ! compgen -G "$apt_dir/lists/*binary-riscv64_Packages*" >/dev/null; then
    if ! apt-get "${apt_opts[@]}" -q update; then
        echo "fetch-guest-kernels.sh: apt-get update failed (is the Debian archive reachable?)" >&2
        exit 3
    fi
fi

# linux-image-ARCH is a metapackage; the kernel is the package it depends on.
fetch() {
    local arch=$1 out=$guests/debian-$1 kernel_pkg kernel_ver busybox_ver want tmp deb
    kernel_pkg=$(apt-cache "${apt_opts[@]}" depends "linux-image-$arch:$arch" \
        | sed -n "s/^ *Depends: \(linux-image-[0-9][^ ]*-$arch\)\(:$arch\)\?$/\1/p" | head -n 1)
    if [ -z "$kernel_pkg" ]; then
        echo "fetch-guest-kernels.sh: linux-image-$arch of $suite names no kernel package" >&2
        exit 3
    fi
    kernel_ver=$(apt-cache "${apt_opts[@]}" show "$kernel_pkg:$arch" | sed -n 's/^Version: //p' \
        | head -n 1)
    busybox_ver=$(apt-cache "${apt_opts[@]}" show "busybox-static:$arch" \
        | sed -n 's/^Version: //p' | head -n 1)
    want="$kernel_pkg $kernel_ver
busybox-static $busybox_ver"

    if [ -f "$out/VERSIONS" ] && [ "$(head -n 2 "$out/VERSIONS")" = "$want" ] \
            && [ -f "$out/Image" ] && [ -f "$out/busybox" ]; then
        echo "fetch-guest-kernels.sh: $kernel_pkg $kernel_ver and busybox-static $busybox_ver already in $out"
        return
    fi
    (cd "$guests/debs" && apt-get "${apt_opts[@]}" -q download \
        "$kernel_pkg:$arch=$kernel_ver" "busybox-static:$arch=$busybox_ver")
    tmp=$(mktemp -d "$guests/unpack.XXXXXX")
    for deb in "$guests/debs/${kernel_pkg}_"*"_$arch.deb" \
            "$guests/debs/busybox-static_"*"_$arch.deb"; do
        dpkg-deb -x "$deb" "$tmp"
    done
    mkdir -p "$out"
    # trixie's kernels are raw Images with an EFI stub, not gzip: arm64's is boot/vmlinuz-*
    # (magic ARMd at 0x38), riscv64's boot/vmlinux-* (magic RSC\x05 at 0x38).
    cp "$tmp/boot/vmlinu"[xz]"-${kernel_pkg#linux-image-}" "$out/Image"
    cp "$tmp/usr/bin/busybox" "$out/busybox"
    rm -rf "$tmp"
    {
        echo "$want"
        (cd "$guests/debs" && sha256sum "${kernel_pkg}_"*"_$arch.deb" \
            "busybox-static_"*"_$arch.deb")
    } > "$out/VERSIONS"
    echo "fetch-guest-kernels.sh: unpacked $kernel_pkg $kernel_ver and busybox-static $busybox_ver into $out"
}
for arch in "${arches[@]}"; do
    fetch "$arch"
done

# The initramfs and the DTB are made from guest-src/linux/ every time (quick, deterministic).
if [ ! -x "$python" ]; then
    echo "fetch-guest-kernels.sh: $python is missing (run ci/bootstrap.sh first)" >&2
    exit 3
fi
for arch in "${arches[@]}"; do
    (cd "$here" && "$python" -m harness.oracle.linux.prepare "$guests/debian-$arch")
done
