"""Thin click layer: each subcommand reads files, calls pure computation, writes files."""
