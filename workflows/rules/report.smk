# One self-contained HTML page answering the question: headline per method vs baseline on the
# chosen lambda, consensus top genes, pathways with q-values, diagnostics.


rule report:
    input:
        selections=all_select_dirs(),
        consensus=[consensus_dir(m) for m in METHODS],
        pathways=[enrich_table(m, kind) for m in METHODS for kind in ("prerank", "ora")],
        compare="results/compare/comparison.tsv",
        graph=f"results/graph/seed_{config['seeds'][0]}/graph.npz",
        truth=optional_study("truth"),
    output:
        REPORT,
    params:
        options=report_options,
        top=config["report"]["top_pathways"],
        top_genes=config["report"]["top_genes"],
        fdr=config["report"]["fdr"],
    threads: rule_threads("report")
    resources:
        **rule_resources("report"),
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        'aprior report {params.options} --compare "$(dirname {input.compare:q})"'
        " --graph {input.graph:q} --top {params.top} --top-genes {params.top_genes}"
        " --fdr {params.fdr} -o {output:q} > {log:q} 2>&1"
