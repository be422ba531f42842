"""Renderers: reports and plans -> text. Each format is one module with `render(...) -> str`."""
