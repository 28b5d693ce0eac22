"""pytest plugin (entry point `axharness`): options, markers and layered fixtures for tests that
boot real axvisor images in real QEMU.

Layers: `axh_options` (session) → `axh_image` (one built image per architecture, session) →
`axh_case` (run one scenario, one machine, its own artifact directory). After every test a leak
check fails the test if a QEMU started by this process survived it (and kills it). Workers of
pytest-xdist share nothing but the image cache, whose builds are serialised by a lock file.

Selection as pytest users expect it: every test that needs an architecture carries its marker
(`aarch64`, `riscv64`, `x86_64`) and every conformance case also its image's (`image_<recipe>`,
non-alphanumerics as `_`: `image_aarch64_smp`), so `-m` selects; `--arch`/`--recipe` deselect
what they leave out (never a skip). Options are the CLI's (`--cache-dir`, `--results`); case
artifacts go under pytest's basetemp unless `--results` names a directory; each case records
its image's provenance (the JUnit properties of `axharness run`) with `record_property`.

Infrastructure trouble (a missing QEMU, a failed build) fails the test with one line, never
skips it; if it is the only failure the session exits 3. SIGINT/SIGTERM unwind the running test
(its QEMU is stopped), the controller passes the signal on to its xdist workers and waits for
them, and the session exits 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import __version__, signals
from harness.check.known import apply_known, load_known
from harness.check.verdict import Verdict
from harness.errors import HarnessError, InfraError, UsageError
from harness.images.build import Image, build_image
from harness.images.cache import cache_root
from harness.images.progress import via_messages
from harness.images.recipe import ARCHES, ImageRecipe, find_recipes, load_recipe
from harness.paths import repo_root
from harness.qemu.host import missing_tools, probe
from harness.qemu.profiles import check_timeout_scale, get_profile
from harness.report.provenance import images_of
from harness.run.case import CaseResult, run_case
from harness.run.suite import KNOWN_FILE, case_dirname, image_entry
from harness.scenarios.catalogue import Scenario


@dataclass(frozen=True, slots=True)
class AxhOptions:
    arches: tuple[str, ...]
    recipes: tuple[str, ...]
    accel: str
    cache: Path
    timeout_scale: float
    keep_artifacts: bool
    results: Path


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("axharness")
    g.addoption("--arch", action="append", default=[], choices=ARCHES,
                help="only the tests of this architecture (repeatable); tests marked with "
                "another are deselected")
    g.addoption("--recipe", action="append", default=[], metavar="NAME",
                help="only the conformance cases of this image recipe (repeatable), and the "
                "other tests of its architecture if it is the architecture's default image")
    g.addoption("--accel", choices=("auto", "tcg", "kvm"), default="auto",
                help="accelerator: auto picks what each image's profile needs")
    g.addoption("--cache-dir", "--images-dir", dest="axh_cache_dir", type=Path, default=None,
                help="image cache (default ~/.cache/axharness or $AXHARNESS_CACHE)")
    g.addoption("--timeout-scale", type=float, default=1.0, help="multiply every timeout")
    g.addoption("--keep-artifacts", action="store_true", help="keep artifacts of passing cases")
    g.addoption("--results", "--axh-results", dest="axh_results", type=Path, default=None,
                help="case artifacts go to DIR/<xdist worker or main>/ (default: "
                "<basetemp>/axharness/, outside the checkout: pytest keeps the last 3)")


def image_marker(recipe: str) -> str:
    """The marker of an image's conformance cases: `image_` + the recipe name with every
    non-alphanumeric as `_` (`aarch64-smp` → `image_aarch64_smp`), a name `-m` accepts."""
    return "image_" + re.sub(r"[^0-9A-Za-z]", "_", recipe)


@functools.cache
def all_recipes() -> dict[str, ImageRecipe]:
    """Every recipe of the checkout, by name ({} outside a checkout: the plugin is installed
    for every pytest run of the venv)."""
    try:
        root = repo_root()
    except HarnessError:
        return {}
    out = {}
    for path in find_recipes(root):
        with contextlib.suppress(HarnessError):  # the tests that load it say what is wrong
            recipe = load_recipe(path, root)
            out[recipe.name] = recipe
    return out


def pytest_configure(config: pytest.Config) -> None:
    for line in ("integration: boots real QEMU with a real axvisor image",
                 "conformance: one conformance scenario on one image"):
        config.addinivalue_line("markers", line)
    for arch in ARCHES:
        config.addinivalue_line("markers", f"{arch}: needs an {arch} image (--arch {arch})")
    for name in sorted(all_recipes()):
        config.addinivalue_line("markers", f"{image_marker(name)}: a conformance case on the "
                                f"{name} image (--recipe {name})")
    unknown = sorted(set(config.getoption("--recipe")) - set(all_recipes()))
    if unknown:
        raise pytest.UsageError(f"--recipe {', '.join(unknown)}: no such recipe in "
                                "images/recipes/")
    try:
        check_timeout_scale(config.getoption("--timeout-scale"))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(_Session(config), "axharness-session")


INFRA = "axharness-infrastructure"  # user property of a report failed by InfraError


class _Session:
    """Signals and the session's exit status (one per pytest process, workers included)."""

    def __init__(self, config: pytest.Config) -> None:
        self.controller = not hasattr(config, "workerinput")
        self.infra = 0
        self.other = 0
        self._stack = ExitStack()
        self.stop = self._stack.enter_context(signals.handled(on_signal=self._forward))

    def _forward(self, signum: int) -> None:
        """The controller passes the signal on to its workers, which stop their QEMU; xdist
        then waits for them before the controller exits."""
        if self.controller:
            for pid, name in _children():
                if not name.startswith(b"qemu-system"):  # ours: stopped by unwinding
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signum)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            if any(name == INFRA for name, _ in report.user_properties):
                self.infra += 1
            else:
                self.other += 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.stop.requested:
            session.exitstatus = self.stop.exit_code
        elif self.infra and not self.other and session.exitstatus == pytest.ExitCode.TESTS_FAILED:
            session.exitstatus = 3  # the harness's table: infrastructure only

    def pytest_unconfigure(self) -> None:
        self._stack.close()


def pytest_report_header(config: pytest.Config) -> str:
    results = config.getoption("axh_results")
    where = f"{results}/<worker>" if results else "<basetemp>/axharness (see --results)"
    return f"axharness: case artifacts in {where}; images in " \
        f"{cache_root(config.getoption('axh_cache_dir'))}"


def _selected(item: pytest.Item, arches: set[str], recipes: set[str]) -> bool:
    """Whether --arch/--recipe keep `item`: by its architecture markers and, for conformance
    cases, its image marker; a test that carries neither needs no image and is kept."""
    names = {m.name for m in item.iter_markers()}
    item_arches = names & set(ARCHES)
    if arches and item_arches and not item_arches & arches:
        return False
    if recipes:
        images = {n for n in names if n.startswith("image_")}
        if images:
            return bool(images & {image_marker(r) for r in recipes})
        if item_arches:  # a test of the architecture's default image (`axh_image(arch)`)
            return any(default_recipe(all_recipes(), a) in recipes for a in item_arches)
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--arch and --recipe deselect (pytest reports "N deselected"), as -k and -m do."""
    arches, recipes = set(config.getoption("--arch")), set(config.getoption("--recipe"))
    if not arches and not recipes:
        return
    keep = [i for i in items if _selected(i, arches, recipes)]
    if len(keep) != len(items):
        kept = set(map(id, keep))
        config.hook.pytest_deselected(items=[i for i in items if id(i) not in kept])
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test failed by InfraError: one line, tagged so the session can exit 3."""
    report: pytest.TestReport = yield
    if call.excinfo is not None and call.excinfo.errisinstance(InfraError):
        report.longrepr = f"infrastructure: {call.excinfo.value}"
        report.user_properties.append((INFRA, str(call.excinfo.value)))
    return report


@pytest.fixture(scope="session")
def axh_options(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
                ) -> AxhOptions:
    # The worker's own id, not the environment's: a pytest started from inside an xdist
    # worker (a test running pytest) inherits PYTEST_XDIST_WORKER without being that worker.
    workerinput = getattr(pytestconfig, "workerinput", None)
    worker = str(workerinput["workerid"]) if isinstance(workerinput, dict) else "main"
    results: Path | None = pytestconfig.getoption("axh_results")
    return AxhOptions(
        arches=tuple(pytestconfig.getoption("--arch")),
        recipes=tuple(pytestconfig.getoption("--recipe")),
        accel=pytestconfig.getoption("--accel"),
        cache=cache_root(pytestconfig.getoption("axh_cache_dir")),
        timeout_scale=pytestconfig.getoption("--timeout-scale"),
        keep_artifacts=pytestconfig.getoption("--keep-artifacts"),
        # an xdist worker's basetemp is its own (…/popen-gw0)
        results=(results / worker).resolve() if results
        else tmp_path_factory.getbasetemp() / "axharness",
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


class _Terminal:
    """Writes lines to the real terminal with pytest's capture suspended (fd capture would
    swallow them into a test's captured output); in an xdist worker that is the stderr it
    inherited from the controller. The first line of a build starts on a line of its own."""

    def __init__(self, config: pytest.Config) -> None:
        self._capman = config.pluginmanager.getplugin("capturemanager")
        self._fresh = False

    def start(self) -> None:
        self._fresh = False

    def __call__(self, text: str) -> None:
        with self._capman.global_and_fixture_disabled() if self._capman is not None \
                else contextlib.nullcontext():
            sys.stderr.write(f"{'' if self._fresh else chr(10)}axharness: {text}\n")
            sys.stderr.flush()
        self._fresh = True


@pytest.fixture(scope="session")
def axh_image(axh_options: AxhOptions, axh_recipes: dict[str, ImageRecipe],
              pytestconfig: pytest.Config) -> Callable[[str], tuple[ImageRecipe, Image]]:
    """Factory: the built image of a recipe, by recipe name or architecture (skips with the
    reason if the host can't run it; a failed build is an error, not a skip). A build shows
    its progress on the terminal; a failed one is reported in full to the first test that
    needs it and in one line naming its build log to the others, never retried."""
    built: dict[str, tuple[ImageRecipe, Image]] = {}
    failed: dict[str, str] = {}
    say = _Terminal(pytestconfig)

    def get(name: str) -> tuple[ImageRecipe, Image]:
        if name not in axh_recipes:
            name = default_recipe(axh_recipes, name)
        if name not in axh_recipes:
            pytest.skip(f"no image recipe {name} in images/recipes/")
        recipe = axh_recipes[name]
        arch = recipe.arch
        # Tests marked with their architecture are deselected before they run (see
        # pytest_collection_modifyitems); one without the marker can only be skipped here.
        if axh_options.arches and arch not in axh_options.arches:
            pytest.skip(f"{arch} not selected (--arch {' '.join(axh_options.arches)})")
        if axh_options.recipes and name not in axh_options.recipes:
            pytest.skip(f"image {name} not selected (--recipe {' '.join(axh_options.recipes)})")
        profile = get_profile(recipe.qemu_profile)
        if axh_options.accel != "auto" and profile.accel != axh_options.accel:
            pytest.skip(f"{arch} image needs {profile.accel}, --accel {axh_options.accel}")
        missing = missing_tools([profile.binary])
        if missing:  # the harness's tool, not the host's capability: never a skip
            raise InfraError(missing)
        if fault := probe().infra(profile):  # the host has it, this user cannot use it
            raise InfraError(f"{arch}: {fault}")
        why = probe().why_not(profile)
        if why:
            pytest.skip(f"{arch}: {why}")
        if name in failed:
            raise InfraError(failed[name])
        if name not in built:
            say.start()
            try:
                built[name] = (recipe, build_image(recipe, axh_options.cache, progress=say,
                                                   status=via_messages(say)))
            except InfraError as exc:
                log = re.search(r"build log: (\S+)", str(exc))
                failed[name] = (f"image {name} did not build (reported with the first test "
                                f"that needed it; build log: {log[1] if log else 'none'})")
                raise InfraError(f"image {name} did not build: {exc}") from None
        return built[name]

    return get


@pytest.fixture
def axh_case(axh_options: AxhOptions, axh_image: Callable[[str], tuple[ImageRecipe, Image]],
             record_property: Callable[[str, object], None]) -> Callable[..., CaseResult]:
    """Runs one scenario to a verdict (known divergences applied); `timeout_scale` overrides
    the session's --timeout-scale for this case. The test records its image's provenance
    (harness, axvisor, image key, vCPU crates, QEMU, accelerator, …) as JUnit properties, the
    same pairs as the <properties> of `axharness run`'s junit.xml."""
    known = load_known(repo_root() / KNOWN_FILE) if (repo_root() / KNOWN_FILE).is_file() else ()

    def run(scenario: Scenario, timeout_scale: float | None = None,
            recipe_name: str | None = None) -> CaseResult:
        recipe, image = axh_image(recipe_name or scenario.arch)
        casedir = axh_options.results / case_dirname(recipe, scenario)
        scale = axh_options.timeout_scale if timeout_scale is None else timeout_scale
        res = apply_known(run_case(image, recipe, scenario, get_profile(recipe.qemu_profile),
                                   casedir, timeout_scale=scale), known)
        (casedir / "manifest.json").write_text(json.dumps(res.to_json(), indent=2, default=str))
        (provenance,) = images_of([res], {"images": {recipe.name: image_entry(image)}})
        for name, value in (("harness", __version__), *provenance.properties()):
            record_property(name, value)
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
    if res.verdict is Verdict.INFRA:
        raise InfraError(f"{res.detail} (artifacts: {res.artifacts})")
    lines = [f"{res.verdict.value}: {res.detail}", *(d.describe() for d in res.diffs),
             f"artifacts: {res.artifacts}"]
    pytest.fail("\n".join(lines), pytrace=False)


def _children() -> list[tuple[int, bytes]]:
    """(pid, program name) of this process's live children."""
    me = os.getpid()
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z":
            out.append((int(pid), os.path.basename(argv0)))
    return out


def _qemu_children() -> list[int]:
    """QEMUs started by this process (pexpect execs them by path: /usr/bin/qemu-system-…)."""
    return [pid for pid, name in _children() if name.startswith(b"qemu-system")]


def _kill(pids: list[int]) -> None:
    """SIGKILL each leaked QEMU's process group (pexpect made it a session leader) and reap
    it, so one leak does not spill into the next tests."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    end = time.monotonic() + 2.0
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < end:
                time.sleep(0.01)


@pytest.fixture(autouse=True)
def axh_leak_check() -> Iterator[None]:
    """A QEMU started by this test and still alive after it is a test error."""
    before = set(_qemu_children())
    yield
    leaked = [p for p in _qemu_children() if p not in before]
    if leaked:
        _kill(leaked)
        pytest.fail(f"QEMU process(es) leaked by this test (killed): {leaked}", pytrace=False)
