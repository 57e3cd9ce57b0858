"""The `scanctl` command line: one Typer sub-app per noun, thin over the library."""
