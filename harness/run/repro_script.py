"""`axharness repro --script OUT.sh`: the case as a bash script that needs no harness and no
image of the case directory: it rebuilds the patched kernel from the cached image and payload.S
with plain binutils, dd and sha256sum (checked against the recorded sha256), then runs it to
the scenario's declared end with the bundle's runner (embedded) and exits with the verdict."""

from __future__ import annotations

import base64
import shlex
import time
from pathlib import Path

from harness.digest import sha256_file
from harness.errors import UsageError
from harness.guests.binutils import flat_binary_commands, tool_names
from harness.images.build import PAYLOAD_MAGIC, Image
from harness.qemu.profiles import get_profile
from harness.report.repro_view import format_exit
from harness.run.artifacts import CaseArtifacts, kit_of, known_covers
from harness.run.bundle import kit_archive
from harness.run.kit import DeclaredEnd
from harness.run.repro import rebuild_command


def render_script(art: CaseArtifacts, image: Image, end: DeclaredEnd) -> str:
    """A bash script that rebuilds the patched kernel from the cached image and payload.S
    (plain binutils, dd and sha256sum: no harness needed), then runs it to the scenario's
    declared end and prints the verdict (the bundle's run.py, embedded: python3 only)."""
    profile = get_profile(art.profile)
    kit = kit_of(art, image.kernel.name, "axvisor.elf", end, known_covers(art.known))
    archive = base64.encodebytes(kit_archive(kit)).decode()
    delim = "AXH_PAYLOAD_EOF"
    while delim in art.payload_asm.splitlines():
        delim += "_"
    q = shlex.quote
    build = "\n".join(" ".join(a if a.startswith(("$", '"$', "-Ttext=")) else q(a) for a in cmd)
                      for cmd in flat_binary_commands(
                          art.arch, tool_names(art.arch), '"$work/payload.S"',
                          '"$work/payload.o"', '"$work/payload.elf"', '"$work/payload.bin"',
                          '"$payload_base"'))
    expected = [f"#   #{i} {format_exit(e)}" for i, e in enumerate(art.expected or ())] \
        or ["#   (none recorded)"]
    recorded = [f"#   #{i} {format_exit(e)}" for i, e in enumerate(art.recorded or ())] \
        or ["#   (none recorded)"]
    payload_body = art.payload_asm if art.payload_asm.endswith("\n") else art.payload_asm + "\n"
    cache = image.dir.parent.parent  # find_image reads <cache>/images/<key>
    return f"""#!/usr/bin/env bash
# Re-runs axharness case {art.case_id} (recorded verdict: {art.verdict}) without the harness.
# Written by `axharness repro --script` from {art.casedir}
# at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}.
#
# Needs {" ".join(tool_names(art.arch))}, {profile.binary}, python3 (>= 3.10), coreutils,
# tar. It runs the case to its declared end ({end.describe()}) and exits like the suite:
# 0 pass or xfail, 2 any failing verdict, 3 the image or QEMU missing. Environment:
#   AXH_IMAGE_DIR=DIR  the image directory (default: the cache entry the case ran on)
#   AXH_WORK=DIR       where the payload and the patched kernel go (default: a new temp dir)
#   AXH_GDB=1          start paused with a gdbstub on tcp::1234 (no watchdogs)
#   AXH_PATCH_ONLY=1   stop once the patched kernel is written
# By hand: $AXH_WORK/kit/cmdline.sh runs QEMU with the console on the terminal.
#
# Expected exits (expected.json, the reference model's prediction):
{chr(10).join(expected)}
# Exits the recorded run observed (observed.jsonl):
{chr(10).join(recorded)}
set -euo pipefail

image_dir=${{AXH_IMAGE_DIR:-{q(str(image.dir))}}}
kernel_name={q(image.kernel.name)}
image_sha256={q(sha256_file(image.kernel))}
payload_base=0x{image.payload_base:x}
payload_offset={image.payload_offset}
payload_capacity={image.payload_capacity}
patched_sha256={q(art.patched_sha256)}
rebuild={q(rebuild_command(art, cache))}

if [ ! -f "$image_dir/$kernel_name" ]; then
    echo "image not found: $image_dir/$kernel_name" >&2
    echo "rebuild it with: $rebuild" >&2
    echo "(the same image comes out only with the same recipe and toolchain)" >&2
    exit 3
fi
if ! echo "$image_sha256  $image_dir/$kernel_name" | sha256sum --check --status -; then
    echo "$image_dir/$kernel_name is not the image the case ran on (sha256 differs);" >&2
    echo "rebuild it with: $rebuild" >&2
    exit 3
fi

work=${{AXH_WORK:-$(mktemp -d -t axh-repro.XXXXXX)}}
mkdir -p "$work"
cat > "$work/payload.S" <<'{delim}'
{payload_body}{delim}

# Assemble and link at the payload base (as harness.guests.binutils does), flatten.
{build}
size=$(stat -c %s "$work/payload.bin")
if [ "$size" -gt "$payload_capacity" ]; then
    echo "payload is $size bytes, the image's hole holds $payload_capacity" >&2
    exit 1
fi

# Patch a copy: the hole follows the 16-byte marker {PAYLOAD_MAGIC.decode()} and its
# 8-byte capacity.
cp "$image_dir/$kernel_name" "$work/$kernel_name"
chmod u+w "$work/$kernel_name"
marker=$(dd if="$work/$kernel_name" iflag=skip_bytes,count_bytes skip=$((payload_offset - 24)) \\
    count=16 status=none)
if [ "$marker" != {PAYLOAD_MAGIC.decode()} ]; then
    echo "$work/$kernel_name: payload marker not at offset $((payload_offset - 24))" >&2
    exit 3
fi
dd if="$work/payload.bin" of="$work/$kernel_name" oflag=seek_bytes seek="$payload_offset" \\
    conv=notrunc status=none
actual=$(sha256sum "$work/$kernel_name" | cut -d' ' -f1)
echo "patched kernel: $work/$kernel_name sha256 $actual"
if [ -n "$patched_sha256" ] && [ "$actual" != "$patched_sha256" ]; then
    echo "warning: the case ran on sha256 $patched_sha256 (other binutils?)" >&2
fi
if [ -n "${{AXH_PATCH_ONLY:-}}" ]; then
    exit 0
fi

# The runner (run.py, case.json and the harness modules it uses; standard library only).
mkdir -p "$work/kit"
base64 -d > "$work/kit.tar.gz" <<'AXH_KIT_EOF'
{archive}AXH_KIT_EOF
tar -xzf "$work/kit.tar.gz" -C "$work/kit"
cp "$work/$kernel_name" "$work/kit/$kernel_name"
if [ -f "$image_dir/axvisor.elf" ] && [ ! -f "$work/kit/axvisor.elf" ]; then
    cp "$image_dir/axvisor.elf" "$work/kit/axvisor.elf"
fi
gdb_args=()
if [ -n "${{AXH_GDB:-}}" ]; then
    gdb_args=(--gdb 1234)
fi
exec python3 "$work/kit/run.py" --out "$work/run" "${{gdb_args[@]}}" "$@"
"""


def write_script(path: Path, text: str) -> None:
    try:
        path.write_text(text)
        path.chmod(0o755)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
