"""Which exit schema the model judges with: the schemas/*.toml set, loaded once, and the
schema of an image (its recorded schema id), of a crate version, or of an older results file
(which named an enum member of the retired `Generation`: G0_1, G0_2, G0_6)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from harness.errors import UsageError
from harness.schema import Schema, SchemaSet, load_schemas

# Results files written before the schemas were data name the generation by enum member.
LEGACY_GENERATIONS = {"G0_1": "axvcpu-0.1", "G0_2": "axvcpu-0.2", "G0_6": "axvcpu-0.6"}
# The generation the predictors' canonical values are written in: AxVCpuExitReason of axvcpu
# 0.2 – 0.5, the exit.rs contract the model was built from.  Other generations are reached by
# their [[change]] entries (harness.model.predict.translate).
REFERENCE = "axvcpu-0.2"


def schema_dir() -> Path:
    """schemas/ beside the harness package (a checkout, or a repro bundle's lib/), else the
    checkout harness.paths finds ($AXHARNESS_REPO)."""
    here = Path(__file__).resolve().parents[2] / "schemas"
    if (here / "canonical.toml").is_file():
        return here
    from harness.schema.load import schema_dir as checkout

    return checkout()


@functools.cache
def schema_set() -> SchemaSet:
    """Every schema of schemas/ (validated together; a bad file is one UsageError)."""
    return load_schemas(schema_dir())


def schema(schema_id: str) -> Schema:
    """A schema by id ("axvm-0.8"), or by a legacy generation name ("G0_2")."""
    return schema_set().get(LEGACY_GENERATIONS.get(schema_id, schema_id))


def of_image(schema_id: str, axvcpu: str = "") -> Schema:
    """The schema an image reports with: the id its manifest records, else (an image built
    before the manifest recorded it) the schema of the axvcpu version its lock resolved."""
    return schema(schema_id) if schema_id else for_crate("axvcpu", axvcpu)


def for_crate(crate: str, version: str) -> Schema:
    """The schema describing `crate` at `version` (axvm 0.8.5, axvcpu 0.5.9)."""
    return schema_set().select(crate, version)


def of_record(image: Mapping[str, object]) -> Schema:
    """The schema a case was judged with, from its manifest's image record: `schema` (an id),
    or the `generation` that results files before the schema ids recorded."""
    sid = image.get("schema") or image.get("generation")
    if not isinstance(sid, str) or not sid:
        raise UsageError("the image record names no exit schema ('schema' or 'generation')")
    return schema(sid)


def parse_spec(*, schema_id: str = "", axvisor: str = "", axvm: str = "", axvcpu: str = ""
               ) -> Schema:
    """The schema named on a command line: an id, or the version of axvisor (its line's exit
    crate), axvm or axvcpu.  Exactly one must be given."""
    given = [(k, v) for k, v in (("schema", schema_id), ("axvisor", axvisor), ("axvm", axvm),
                                 ("axvcpu", axvcpu)) if v]
    if len(given) != 1:
        raise UsageError("name the exit schema once: --schema ID, --axvisor, --axvm or "
                         "--axvcpu VERSION")
    key, value = given[0]
    if key == "schema":
        return schema(value.removeprefix("schema:"))
    if key == "axvisor":
        if value.lstrip("v") not in AXVISOR_EXIT_CRATE:
            known = ", ".join(f"{v} ({c} {cv})" for v, (c, cv) in AXVISOR_EXIT_CRATE.items())
            raise UsageError(f"axvisor {value}: which exit crate it resolves is not recorded "
                             f"here (known: {known}); name --axvm/--axvcpu or --schema")
        return for_crate(*AXVISOR_EXIT_CRATE[value.lstrip("v")])
    return for_crate(key, value)


# The exit crate each pinned axvisor version resolves (its Cargo.lock; images/README.md).
AXVISOR_EXIT_CRATE: dict[str, tuple[str, str]] = {
    "0.3.0-preview.2": ("axvcpu", "0.2.2"),
    "0.5.8": ("axvcpu", "0.5.9"),
    "0.8.2": ("axvm", "0.8.5"),
}
