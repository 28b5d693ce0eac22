"""Reading axvisor serial logs: Rust Debug text → model exits (see axlog.parse_log)."""

from harness.parse.axlog import (
    ExitRecord,
    LogPrefix,
    LogScanner,
    ParseError,
    ParseResult,
    format_log_line,
    parse_log,
)
from harness.parse.render import DebugForm, render_exit

__all__ = [
    "DebugForm",
    "ExitRecord",
    "LogPrefix",
    "LogScanner",
    "ParseError",
    "ParseResult",
    "format_log_line",
    "parse_log",
    "render_exit",
]
