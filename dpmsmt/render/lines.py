"""A plain or coloured text report, written line by line (shared by the plan renderers)."""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console
from rich.text import Text


def text_lines(color: bool) -> tuple[io.StringIO, Callable[..., None]]:
    """A buffer and `line(*parts)`: parts are strings or (text, style) pairs, never parsed as
    markup (names contain `[` and `\\`); colour only when asked (a terminal, no NO_COLOR)."""
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=color,
        no_color=not color,
        width=100,
        highlight=False,
        soft_wrap=True,
    )

    def line(*parts) -> None:
        console.print(Text.assemble(*[(p, "") if isinstance(p, str) else p for p in parts]))

    return buf, line
