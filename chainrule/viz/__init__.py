"""Seeing the graph: text listings of the computational graph (drawing and explaining next)."""

from .text import format_graph, print_graph

__all__ = ["format_graph", "print_graph"]
