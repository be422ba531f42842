"""A plain or coloured text report, written line by line (shared by the plan renderers)."""

from __future__ import annotations

import io
from collections.abc import Callable

# what rich leaves out of a text (bell, backspace, vertical tab, form feed, carriage return)
_CONTROL = str.maketrans(dict.fromkeys((7, 8, 11, 12, 13)))


SHOWN = 8  # ids listed in one line of text before "… and N more"


def first_ids(values) -> str:
    """The first `SHOWN` ids of a list, then how many more."""
    values = list(values)
    head = ", ".join(values[:SHOWN])
    return head + (f" … and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


def plain(parts) -> str:
    """The text of one line's parts as rich prints it without colour."""
    text = "".join(p if isinstance(p, str) else p[0] for p in parts)
    return text.translate(_CONTROL).expandtabs(8)


def text_lines(color: bool) -> tuple[io.StringIO, Callable[..., None]]:
    """A buffer and `line(*parts)`: parts are strings or (text, style) pairs, never parsed as
    markup (names contain `[` and `\\`); colour only when asked (a terminal, no NO_COLOR).
    Without colour the lines are joined here: importing rich costs more than a small report."""
    buf = io.StringIO()
    if not color:

        def plain_line(*parts) -> None:
            buf.write(plain(parts) + "\n")

        return buf, plain_line
    from rich.console import Console
    from rich.text import Text

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
