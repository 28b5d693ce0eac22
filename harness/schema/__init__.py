"""Exit schema generations as data (schemas/*.toml): the Rust exit enums per architecture,
their canonical kinds and attributes, and the Debug spellings of their field types."""

from harness.schema.codecs import CodecError, DomainError, Form
from harness.schema.load import load_schemas
from harness.schema.schema import ARCHES, Exit, Schema, SchemaLookupError, Variant
from harness.schema.schemaset import SchemaSet

__all__ = [
    "ARCHES",
    "CodecError",
    "DomainError",
    "Exit",
    "Form",
    "Schema",
    "SchemaLookupError",
    "SchemaSet",
    "Variant",
    "load_schemas",
]
