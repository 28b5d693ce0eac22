"""ci/install-host-deps.sh derives the bookworm-backports source from the machine's own
bookworm entry (its mirror and keyring), never a fixed host; without one it says so and
exits 3. Run on fixture apt directories ($AXH_APT_ETC) with --print-backports-source."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ci" / "install-host-deps.sh"


def derive(etc: Path | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if etc is None:
        env.pop("AXH_APT_ETC", None)
    else:
        env["AXH_APT_ETC"] = str(etc)
    return subprocess.run(["bash", str(SCRIPT), "--print-backports-source"], env=env,
                          capture_output=True, text=True, check=False, timeout=60)


def fields(text: str) -> dict[str, str]:
    """A deb822 paragraph, continuation lines kept with their leading space."""
    out: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith((" ", "\t")):
            out[key] += "\n" + line
        elif ":" in line:
            key, value = line.split(":", 1)
            out[key] = value.strip()
    return out


def apt(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_mirror_and_keyring_of_the_enabled_bookworm_entry_are_used(tmp_path: Path) -> None:
    etc = apt(tmp_path, {"sources.list.d/a-security.sources": (
        "Types: deb\nURIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n"),
        "sources.list.d/debian.sources": (
        "Types: deb\nURIs: http://old.example/debian\nSuites: bookworm\nComponents: main\n"
        "Enabled: no\n\n"
        "# the mirror this machine uses\nTypes: deb-src deb\n# snapshot\n"
        "URIs:  http://mirror.example/debian   http://second.example/debian \n"
        "Suites: bookworm bookworm-updates\nComponents: main contrib\n"
        "Signed-By: /etc/apt/keyrings/mirror.gpg\n")})
    res = derive(etc)
    assert res.returncode == 0, res.stderr
    assert fields(res.stdout) == {
        "Types": "deb", "URIs": "http://mirror.example/debian http://second.example/debian",
        "Suites": "bookworm-backports", "Components": "main",
        "Signed-By": "/etc/apt/keyrings/mirror.gpg"}


def test_an_inline_signed_by_key_is_carried_over_line_by_line(tmp_path: Path) -> None:
    key = (" -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINBGPL\n"
           " -----END PGP PUBLIC KEY BLOCK-----")
    etc = apt(tmp_path, {"sources.list.d/d.sources": (
        f"Types: deb\nURIs: https://m.example/debian\nSuites: bookworm\nSigned-By:\n{key}\n")})
    res = derive(etc)
    assert fields(res.stdout)["Signed-By"] == "\n" + key


@pytest.mark.parametrize(("line", "uri", "signed"), [
    ("deb [arch=amd64 signed-by=/k/debian.gpg] http://m.example/debian bookworm main",
     "http://m.example/debian", "/k/debian.gpg"),
    ("deb [ signed-by=/k/debian.gpg ] http://m.example/debian bookworm main",
     "http://m.example/debian", "/k/debian.gpg"),
    ("deb http://m.example/debian bookworm main contrib", "http://m.example/debian", None),
])
def test_one_line_entries_of_sources_list_are_read_too(tmp_path: Path, line: str, uri: str,
                                                        signed: str | None) -> None:
    etc = apt(tmp_path, {"sources.list": (
        "# deb http://commented.example/debian bookworm main\n"
        "deb http://security.example/debian-security bookworm-security main\n"
        "deb-src http://src.example/debian bookworm main\n" + line + "\n")})
    res = derive(etc)
    got = fields(res.stdout)
    assert got["URIs"] == uri and got["Suites"] == "bookworm-backports"
    assert got.get("Signed-By") == signed


def test_without_a_bookworm_entry_it_says_so_in_one_line_and_exits_3(tmp_path: Path) -> None:
    etc = apt(tmp_path, {"sources.list": "deb http://m.example/debian trixie main\n",
                         "sources.list.d/s.sources": ("Types: deb\nURIs: http://m.example/d\n"
                                                      "Suites: bookworm-security\n")})
    res = derive(etc)
    assert res.returncode == 3 and res.stdout == ""
    (line,) = res.stderr.splitlines()
    assert line.startswith("install-host-deps: no Debian bookworm entry") and str(etc) in line


def test_on_this_machine_the_source_is_its_own_bookworm_entry() -> None:
    want = None
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for para in path.read_text().split("\n\n"):
            f = fields("\n".join(x for x in para.splitlines() if not x.startswith("#")))
            if "bookworm" in f.get("Suites", "").split() and \
                    "deb" in f.get("Types", "").split() and f.get("Enabled", "yes") != "no":
                want = want or f
    res = derive(None)
    if want is None:  # then the script must refuse as well
        assert res.returncode == 3, res.stdout
        return
    got = fields(res.stdout)
    assert got["URIs"] == " ".join(want["URIs"].split())
    assert got.get("Signed-By") == want.get("Signed-By")



def install(etc: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The script with QEMU missing (PATH has only the tools it uses) and apt-get a stub."""
    bin_dir = tmp_path / "bin"
    if not bin_dir.is_dir():
        bin_dir.mkdir()
        for tool in ("awk", "grep", "sed", "id", "cat"):
            found = subprocess.run(["which", tool], capture_output=True, text=True, check=True)
            (bin_dir / tool).symlink_to(found.stdout.strip())
        (bin_dir / "apt-get").write_text(f"#!/bin/sh\necho \"$*\" >> {tmp_path}/apt-get.log\n")
        (bin_dir / "apt-get").chmod(0o755)
    env = dict(os.environ, AXH_APT_ETC=str(etc), PATH=str(bin_dir))
    return subprocess.run(["/bin/bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                          check=False, timeout=60)


def test_as_root_with_qemu_missing_it_writes_the_derived_source_once(tmp_path: Path) -> None:
    (tmp_path / "apt").mkdir()
    etc = apt(tmp_path / "apt", {"sources.list.d/debian.sources": (
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
        "Signed-By: /k.gpg\n")})
    first = install(etc, tmp_path)
    if os.geteuid() != 0:
        assert first.returncode == 3 and "run this script as root" in first.stderr
        return
    assert first.returncode == 0, first.stderr
    written = etc / "sources.list.d" / "bookworm-backports.sources"
    assert fields(written.read_text()) == {
        "Types": "deb", "URIs": "http://mirror.example/debian",
        "Suites": "bookworm-backports", "Components": "main", "Signed-By": "/k.gpg"}
    assert f"wrote {written}" in first.stdout
    log = (tmp_path / "apt-get.log").read_text()
    assert "install -y -q --no-install-recommends -t bookworm-backports qemu-system-arm" in log
    second = install(etc, tmp_path)
    assert second.returncode == 0 and "wrote" not in second.stdout


def test_a_backports_entry_already_configured_elsewhere_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "apt").mkdir()
    etc = apt(tmp_path / "apt", {"sources.list": (
        "deb http://m.example/debian bookworm main\n"
        "deb http://m.example/debian bookworm-backports main\n")})
    res = install(etc, tmp_path)
    assert res.returncode == (0 if os.geteuid() == 0 else 3), res.stderr
    assert not (etc / "sources.list.d" / "bookworm-backports.sources").exists()
