"""`graph --format svg`: the DOT picture through Graphviz's `dot -Tsvg`."""

from __future__ import annotations

from dpmsmt.findings import UsageError
from dpmsmt.render.dot import graph_dot

NO_DOT = "--format svg needs Graphviz's `dot` on the PATH (apt install graphviz)"


def graphviz_svg(dot_text: str) -> str:
    """`dot -Tsvg` on `dot_text` (stdin); a missing or failing Graphviz is a UsageError."""
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        raise UsageError(NO_DOT)
    try:
        done = subprocess.run(
            [exe, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UsageError(f"Graphviz's `dot` failed: {e}") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"Graphviz's `dot` failed: {why[0] if why else f'exit {done.returncode}'}")
    return done.stdout.decode("utf-8", "replace")


def graph_svg(report, *, topology, before, max_servers: int) -> str:
    return graphviz_svg(
        graph_dot(report, topology=topology, before=before, max_servers=max_servers)
    )
