"""``aprior graph``: edge files -> id mapping -> threshold -> sparse adjacency + Laplacian."""

from __future__ import annotations

import time
from pathlib import Path

import click

from aprior_cli.cli.common import (
    Command,
    FiniteFloat,
    echo_summary,
    handle_errors,
    log,
    seed_option,
    verbosity_options,
)
from aprior_cli.errors import UserInputError


def stats_path_for(output: Path) -> Path:
    """``OUT.npz`` -> ``OUT.stats.json``."""
    name = output.name[:-4] if output.name.lower().endswith(".npz") else output.name
    return output.with_name(name + ".stats.json")


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, cls=Command)
@click.option("--edges", "edge_paths", multiple=True, type=click.Path(dir_okay=False),
              help="Edge file: 'gene1 gene2 weight' (HumanBase) or 'gene1 gene2' (weight 1), "
                   "tab-separated, .gz ok. Repeat to merge several files. With --mapping "
                   "their ids are translated.")
@click.option("--feature-edges", "feature_edge_paths", multiple=True,
              type=click.Path(dir_okay=False),
              help="Edge file already in the features' ids (e.g. a symbol network beside an "
                   "Entrez one): merged as is, never translated by --mapping. Repeatable.")
@click.option("--mapping", "mapping_path", type=click.Path(dir_okay=False),
              help="Id mapping table (e.g. BioMart export) translating edge ids to feature ids.")
@click.option("--map-from", help="Mapping column holding the edge files' ids.")
@click.option("--map-to", help="Mapping column holding the feature ids.")
@click.option("--features", "features_path", type=click.Path(dir_okay=False),
              help="Feature list, one id per line (node order of the output).")
@click.option("--expression", "expression_path", type=click.Path(dir_okay=False),
              help="Expression matrix (samples x genes); its gene columns are the features.")
@click.option("--threshold", type=FiniteFloat(), default=0.1, show_default=True,
              help="Keep edges with weight >= this (HumanBase posterior; 2-column files have 1).")
@click.option("--normalized", is_flag=True,
              help="Symmetric-normalised Laplacian I - D^-1/2 W D^-1/2 instead of D - W.")
@click.option("--random", "random_kind", type=click.Choice(["same-edges", "degree-preserving"]),
              default=None, help="Write a random control instead of the real graph.")
@click.option("--swaps-per-edge", type=FiniteFloat(min=0), default=10.0, show_default=True,
              help="Attempted double-edge swaps per edge for --random degree-preserving.")
@seed_option(help="Seed of --random.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Output graph (.npz); statistics go to OUT.stats.json beside it.")
@verbosity_options
@handle_errors
def command(edge_paths: tuple[str, ...], feature_edge_paths: tuple[str, ...],
            mapping_path: str | None, map_from: str | None,
            map_to: str | None, features_path: str | None, expression_path: str | None,
            threshold: float, normalized: bool, random_kind: str | None, swaps_per_edge: float,
            seed: int, output: str, verbose: int, quiet: bool) -> None:
    """Build a gene graph over the expression features from edge files.

    Edges with weight >= --threshold are kept, ids translated through --mapping (one-to-many
    and many-to-one counted), self-loops dropped, both directions and duplicates combined by
    max weight, and edges restricted to the features. Writes the adjacency, its Laplacian and
    the feature order (.npz) plus statistics (OUT.stats.json, with graph_coverage = the
    fraction of features with an edge, graph_components, graph_isolated); warns when fewer
    than half of the features have an edge.

    \b
    Example (an Entrez-id network mapped to symbols, plus a symbol network):
      aprior graph --edges HM90.txt --mapping biomart.txt --map-from entrezgene_id \\
          --map-to external_gene_name --feature-edges CancerSubnetwork.txt \\
          --expression expr.tsv -o graph.npz
    """
    import numpy as np

    from aprior_cli import graph as g
    from aprior_cli.graph_coverage import coverage_line, coverage_warning, graph_coverage
    from aprior_cli.io.atomic import atomic_write_json
    from aprior_cli.io.counts import read_id_list, read_mapping, read_matrix_features
    from aprior_cli.io.edges import read_edges
    from aprior_cli.io.graph_npz import save_graph
    from aprior_cli.io.outputs import claim_outputs

    out = Path(output)
    if out.suffix.lower() != ".npz":
        raise UserInputError(f"-o/--output: {out} must end in .npz")
    if (features_path is None) == (expression_path is None):
        raise UserInputError("give exactly one of --features FILE or --expression MATRIX")
    if mapping_path and not (map_from and map_to):
        raise UserInputError("--mapping needs --map-from COLUMN and --map-to COLUMN")
    if (map_from or map_to) and not mapping_path:
        raise UserInputError("--map-from/--map-to need --mapping TABLE")
    if not edge_paths and not feature_edge_paths:
        raise UserInputError("give at least one --edges or --feature-edges file")
    if mapping_path and not edge_paths:
        raise UserInputError("--mapping translates --edges files; none given (--feature-edges "
                             "are never translated)")
    stats_path = stats_path_for(out)
    outs = claim_outputs(files={"-o/--output": out, "statistics": stats_path},
                         inputs=[edge_paths, feature_edge_paths, mapping_path, features_path,
                                 expression_path],
                         manifest=stats_path)
    t0 = time.perf_counter()
    features = (read_id_list(features_path, "feature") if features_path
                else read_matrix_features(expression_path))
    mapping = read_mapping(mapping_path, map_from, map_to) if mapping_path else None
    edges, per_file = read_edges(edge_paths) if edge_paths else (None, [])
    direct, direct_files = (read_edges(feature_edge_paths) if feature_edge_paths
                            else (None, []))
    t_read = time.perf_counter() - t0
    n_read = (len(edges) if edges is not None else 0) + (len(direct) if direct is not None
                                                          else 0)
    log.debug("read %d edges in %.1f s", n_read, t_read)
    stats: dict = {"inputs": {"edges": per_file, "feature_edges": direct_files,
                              "mapping": mapping_path, "map_from": map_from,
                              "map_to": map_to, "features": features_path or expression_path},
                   "threshold": threshold, "edges_read": n_read}
    parts = [e for e in (edges, direct) if e is not None]
    kept_parts = [g.threshold_edges(e, threshold) for e in parts]
    stats["edges_below_threshold"] = n_read - sum(len(k) for k in kept_parts)
    if sum(len(k) for k in kept_parts) == 0:
        top = max(float(e.weight.max()) for e in parts)
        raise UserInputError(f"--threshold {threshold}: no edge has weight >= threshold "
                             f"(max weight {top:g})")
    if edges is not None:
        kept = kept_parts[0]
        if mapping is not None:
            kept, stats["mapping"] = g.map_edges(kept, mapping["source"], mapping["target"])
            if len(kept) == 0:
                raise UserInputError(f"--mapping: no edge id is found in column {map_from!r} "
                                     f"of {mapping_path}; check --map-from")
        if direct is not None:
            kept = g.concat_edges([kept, kept_parts[1]])
    else:
        kept = kept_parts[0]
    adjacency, build_stats = g.build_adjacency(kept, features)
    stats["build"] = build_stats
    if build_stats["edges"] == 0:
        hint = "check --map-from/--map-to" if mapping is not None else "use --mapping"
        raise UserInputError(f"no edge has both ends among the {len(features)} features "
                             f"({len(kept)} edges after threshold/mapping); the ids do not "
                             f"match: {hint}")
    if random_kind is not None:
        stats["real_graph"] = g.graph_statistics(adjacency)
        rng = np.random.default_rng(seed)
        if random_kind == "same-edges":
            adjacency = g.random_same_edges(adjacency, rng)
            stats["random"] = {"kind": random_kind, "seed": seed}
        else:
            adjacency, swaps = g.random_degree_preserving(adjacency, rng, swaps_per_edge)
            stats["random"] = {"kind": random_kind, "seed": seed, "swaps_per_edge": swaps_per_edge,
                               "successful_swaps": swaps}
    graph = g.make_graph(features, adjacency, normalized=normalized)
    stats["graph"] = g.graph_statistics(adjacency)
    stats.update(graph_coverage(adjacency, features))
    stats["laplacian"] = "symmetric-normalised I - D^-1/2 W D^-1/2" if normalized else "D - W"
    stats["duplicates_combined_by"] = "max"
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    save_graph(outs.path(out), graph)
    atomic_write_json(outs.path(stats_path), stats)
    outs.publish()
    warning = coverage_warning(stats, f"{out}")
    if warning:
        log.warning("warning: %s", warning)
    s = stats["graph"]
    echo_summary(quiet, f"graph: {s['edges']} edges over {s['features_with_edge']} of "
                        f"{s['features']} features ({s['connected_components']} components, "
                        f"largest {s['largest_component']}) written to {out}; "
                        f"{coverage_line(stats)}")
