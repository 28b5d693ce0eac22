"""Reading axvisor serial logs: Rust Debug text → model exits, through an exit schema (see
axlog.parse_log)."""

from harness.parse.axlog import (
    ExitRecord,
    LogPrefix,
    LogScanner,
    ParseError,
    ParseResult,
    format_log_line,
    format_sync_record,
    parse_console,
    parse_log,
)
from harness.parse.render import DebugForm, parse_exit, render_exit

__all__ = [
    "DebugForm",
    "ExitRecord",
    "LogPrefix",
    "LogScanner",
    "ParseError",
    "ParseResult",
    "format_log_line",
    "format_sync_record",
    "parse_console",
    "parse_exit",
    "parse_log",
    "render_exit",
]
