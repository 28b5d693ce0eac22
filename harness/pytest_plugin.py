"""pytest plugin (entry point `axharness`): options, markers and layered fixtures for tests that
boot real axvisor images in real QEMU.

Layers: `axh_options` (session) → `axh_image` (one built image per architecture, session) →
`axh_case` (run one scenario, one machine, its own artifact directory). After every test a leak
check fails the test if a QEMU started by this process survived it. Workers of pytest-xdist share
nothing but the image cache, whose builds are serialised by a lock file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.check.known import apply_known, load_known
from harness.check.verdict import Verdict
from harness.images.build import Image, build_image
from harness.images.cache import cache_root
from harness.images.recipe import ImageRecipe, find_recipes, load_recipe
from harness.paths import repo_root
from harness.qemu.host import probe
from harness.qemu.profiles import get_profile
from harness.run.case import CaseResult, run_case
from harness.run.suite import KNOWN_FILE, case_dirname
from harness.scenarios.catalogue import Scenario


@dataclass(frozen=True, slots=True)
class AxhOptions:
    arches: tuple[str, ...]
    accel: str
    cache: Path
    timeout_scale: float
    keep_artifacts: bool
    results: Path


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("axharness")
    g.addoption("--arch", action="append", default=[],
                help="only run real-QEMU tests for this architecture (repeatable)")
    g.addoption("--accel", choices=("auto", "tcg", "kvm"), default="auto",
                help="accelerator: auto picks what each image's profile needs")
    g.addoption("--images-dir", type=Path, default=None,
                help="image cache (default ~/.cache/axharness or $AXHARNESS_CACHE)")
    g.addoption("--timeout-scale", type=float, default=1.0, help="multiply every timeout")
    g.addoption("--keep-artifacts", action="store_true", help="keep artifacts of passing cases")
    g.addoption("--axh-results", type=Path, default=Path("results/pytest"),
                help="where case artifacts go (per xdist worker)")


def pytest_configure(config: pytest.Config) -> None:
    for line in ("integration: boots real QEMU with a real axvisor image",
                 "conformance: one conformance scenario on one architecture",
                 "aarch64: needs the aarch64 image", "riscv64: needs the riscv64 image",
                 "x86_64: needs an x86_64 image"):
        config.addinivalue_line("markers", line)


@pytest.fixture(scope="session")
def axh_options(pytestconfig: pytest.Config) -> AxhOptions:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return AxhOptions(
        arches=tuple(pytestconfig.getoption("--arch")),
        accel=pytestconfig.getoption("--accel"),
        cache=cache_root(pytestconfig.getoption("--images-dir")),
        timeout_scale=pytestconfig.getoption("--timeout-scale"),
        keep_artifacts=pytestconfig.getoption("--keep-artifacts"),
        results=(pytestconfig.getoption("--axh-results") / worker).resolve(),
    )


@pytest.fixture(scope="session")
def axh_recipes() -> dict[str, ImageRecipe]:
    """Every recipe, by name (`aarch64`, `riscv64`, `x86_64-svm`, `x86_64-vmx`)."""
    root = repo_root()
    return {r.name: r for r in (load_recipe(p, root) for p in find_recipes(root))}


def default_recipe(recipes: dict[str, ImageRecipe], arch: str) -> str:
    """The recipe an architecture's tests use when they name none: the one named after the
    architecture, else the first by name that this host can run, else the first by name."""
    if arch in recipes:
        return arch
    names = sorted(n for n, r in recipes.items() if r.arch == arch)
    runnable = [n for n in names if not probe().why_not(get_profile(recipes[n].qemu_profile))]
    return (runnable or names or [arch])[0]


@pytest.fixture(scope="session")
def axh_image(axh_options: AxhOptions, axh_recipes: dict[str, ImageRecipe]
              ) -> Callable[[str], tuple[ImageRecipe, Image]]:
    """Factory: the built image of a recipe, by recipe name or architecture (skips with the
    reason if the host can't run it; a failed build is an error, not a skip)."""
    built: dict[str, tuple[ImageRecipe, Image]] = {}

    def get(name: str) -> tuple[ImageRecipe, Image]:
        if name not in axh_recipes:
            name = default_recipe(axh_recipes, name)
        if name not in axh_recipes:
            pytest.skip(f"no image recipe {name} in images/recipes/")
        recipe = axh_recipes[name]
        arch = recipe.arch
        if axh_options.arches and arch not in axh_options.arches:
            pytest.skip(f"{arch} not selected (--arch {' '.join(axh_options.arches)})")
        profile = get_profile(recipe.qemu_profile)
        if axh_options.accel != "auto" and profile.accel != axh_options.accel:
            pytest.skip(f"{arch} image needs {profile.accel}, --accel {axh_options.accel}")
        why = probe().why_not(profile)
        if why:
            pytest.skip(f"{arch}: {why}")
        if name not in built:
            built[name] = (recipe, build_image(recipe, axh_options.cache, progress=lambda m: None))
        return built[name]

    return get


@pytest.fixture
def axh_case(axh_options: AxhOptions, axh_image: Callable[[str], tuple[ImageRecipe, Image]]
             ) -> Callable[..., CaseResult]:
    """Runs one scenario to a verdict (known divergences applied); `timeout_scale` overrides
    the session's --timeout-scale for this case."""
    known = load_known(repo_root() / KNOWN_FILE) if (repo_root() / KNOWN_FILE).is_file() else ()

    def run(scenario: Scenario, timeout_scale: float | None = None,
            recipe_name: str | None = None) -> CaseResult:
        recipe, image = axh_image(recipe_name or scenario.arch)
        casedir = axh_options.results / case_dirname(recipe, scenario)
        scale = axh_options.timeout_scale if timeout_scale is None else timeout_scale
        res = apply_known(run_case(image, recipe, scenario, get_profile(recipe.qemu_profile),
                                   casedir, timeout_scale=scale), known)
        (casedir / "manifest.json").write_text(json.dumps(res.to_json(), indent=2, default=str))
        return res

    return run


def assert_conformant(res: CaseResult) -> None:
    """pass → ok; known divergence → xfail; skip → skip; anything else fails with the diff."""
    if res.verdict is Verdict.PASS:
        return
    if res.verdict is Verdict.XFAIL:
        pytest.xfail(f"known divergence {', '.join(res.known)}: {res.detail}")
    if res.verdict is Verdict.SKIP:
        pytest.skip(res.detail)
    lines = [f"{res.verdict.value}: {res.detail}", *(d.describe() for d in res.diffs),
             f"artifacts: {res.artifacts}"]
    pytest.fail("\n".join(lines), pytrace=False)


def _qemu_children() -> list[int]:
    me = os.getpid()
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and cmd.startswith(b"qemu-system"):
            out.append(int(pid))
    return out


@pytest.fixture(autouse=True)
def axh_leak_check() -> Iterator[None]:
    """A QEMU started by this test and still alive after it is a test error."""
    before = set(_qemu_children())
    yield
    leaked = [p for p in _qemu_children() if p not in before]
    if leaked:
        pytest.fail(f"QEMU process(es) leaked by this test: {leaked}", pytrace=False)
