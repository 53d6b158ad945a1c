"""The component graph: a small wrapper so networkx is used in one place only.

Nodes are component names; edges are stream bindings (``stream``) or request/reply calls
(``call``). Passes ask questions (cycles, reachability); renderers print Mermaid or DOT.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import networkx as nx

from autocoder.ir.models import IR


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    style: str  # "stream" | "call"
    label: str
    ref: str  # binding or call id
    feedback: bool = False


class ComponentGraph:
    def __init__(self) -> None:
        self._g: nx.MultiDiGraph = nx.MultiDiGraph()

    @classmethod
    def from_ir(cls, ir: IR) -> ComponentGraph:
        graph = cls()
        for component in ir.components:
            graph.add_component(component.name, component.kind)
        for binding in ir.bindings:
            for target in binding.targets:
                graph.connect(
                    Edge(
                        binding.source.component,
                        target.component,
                        "stream",
                        f"{binding.source.port} → {target.port}",
                        binding.id,
                        binding.qos.feedback,
                    )
                )
        for call in ir.calls:
            graph.connect(
                Edge(call.caller, call.target.component, "call", call.target.operation, call.id)
            )
        return graph

    def add_component(self, name: str, kind: str) -> None:
        self._g.add_node(name, kind=kind)

    def connect(self, edge: Edge) -> None:
        """Add an edge between two known components (unknown endpoints are left to passes)."""
        if edge.source in self._g and edge.target in self._g:
            self._g.add_edge(edge.source, edge.target, edge=edge)

    def components(self) -> list[tuple[str, str]]:
        return [(n, d["kind"]) for n, d in self._g.nodes(data=True)]

    def edges(self) -> Iterator[Edge]:
        for _, _, data in self._g.edges(data=True):
            yield data["edge"]

    def cycles(self) -> list[list[Edge]]:
        """Each elementary cycle once, as its list of edges (smallest component name first)."""
        found: list[list[Edge]] = []
        simple = nx.DiGraph()
        simple.add_nodes_from(self._g.nodes)
        for source, target, data in self._g.edges(data=True):
            edges = simple.get_edge_data(source, target, {}).get("edges", [])
            simple.add_edge(source, target, edges=[*edges, data["edge"]])
        for component in nx.strongly_connected_components(simple):
            if len(component) == 1:
                (node,) = component
                if not simple.has_edge(node, node):
                    continue
            sub = simple.subgraph(component)
            for cycle in nx.simple_cycles(sub):
                start = cycle.index(min(cycle))
                cycle = cycle[start:] + cycle[:start]
                pairs = zip(cycle, cycle[1:] + cycle[:1], strict=True)
                found.append([self._pick(simple, a, b) for a, b in pairs])
                if len(found) >= 100:  # enough to act on; enumerating all can be exponential
                    return found
        return found

    @staticmethod
    def _pick(simple: nx.DiGraph, a: str, b: str) -> Edge:
        edges: list[Edge] = simple.edges[a, b]["edges"]
        # A call edge makes a cycle worse than a stream edge; prefer reporting it.
        return sorted(edges, key=lambda e: (e.style != "call", e.ref))[0]
