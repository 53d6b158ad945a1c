"""Render the component graph as Mermaid or Graphviz DOT (deterministic output)."""

from __future__ import annotations

from autocoder.ir.graph import ComponentGraph

_SHAPES = {  # mermaid node shapes per kind
    "api": ('(["', '"])'),
    "store": ('[("', '")]'),
    "source": ('>"', '"]'),
    "sink": ('[/"', '"/]'),
    "router": ('{"', '"}'),
    "filter": ('{{"', '"}}'),
}


def _node_id(name: str) -> str:
    return "c_" + name.replace("-", "_")


def to_mermaid(graph: ComponentGraph) -> str:
    lines = ["flowchart LR"]
    for name, kind in sorted(graph.components()):
        left, right = _SHAPES.get(kind, ('["', '"]'))
        lines.append(f"  {_node_id(name)}{left}{name}<br/><i>{kind}</i>{right}")
    for edge in sorted(graph.edges(), key=lambda e: (e.source, e.target, e.ref)):
        arrow = "-.->" if edge.style == "call" else "-->"
        label = edge.label.replace('"', "'")
        lines.append(f'  {_node_id(edge.source)} {arrow}|"{label}"| {_node_id(edge.target)}')
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: ComponentGraph, name: str) -> str:
    lines = [f"digraph {_dot_quote(name)} {{", "  rankdir=LR;", "  node [shape=box];"]
    shapes = {
        "store": "cylinder",
        "api": "component",
        "router": "diamond",
        "filter": "hexagon",
        "source": "invhouse",
        "sink": "house",
    }
    for node, kind in sorted(graph.components()):
        lines.append(
            f"  {_dot_quote(node)} [label={_dot_quote(node + chr(10) + kind)}, "
            f"shape={shapes.get(kind, 'box')}];"
        )
    for edge in sorted(graph.edges(), key=lambda e: (e.source, e.target, e.ref)):
        style = ", style=dashed" if edge.style == "call" else ""
        lines.append(
            f"  {_dot_quote(edge.source)} -> {_dot_quote(edge.target)} "
            f"[label={_dot_quote(edge.label)}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
