"""Renderers: answers -> text. `registry.FORMATS[command][format]` names each one."""
