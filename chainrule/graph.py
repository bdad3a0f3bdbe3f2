"""Inspect the computational graph: nodes in a deterministic order, their edges and params.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> loss = (x.exp() * 2).sum()
>>> [(n.name, n.shape) for n in cr.graph.nodes(loss)]
[('AccumulateGrad', (2,)), ('exp', (2,)), ('mul', (2,)), ('sum', ())]
"""

from .core.graph import AccumulateGrad, GraphError, Node, iter_edges, nodes, record_inputs

__all__ = ["Node", "AccumulateGrad", "GraphError", "nodes", "iter_edges", "record_inputs"]
