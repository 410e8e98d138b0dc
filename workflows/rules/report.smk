# One self-contained HTML page: comparison table, plots (embedded) and top pathways.


rule report:
    input:
        runs=all_run_dirs(),
        enrich=all_enrichment_tables(),
        compare="results/compare/comparison.tsv",
        truth=optional_study("truth"),
    output:
        REPORT,
    params:
        enrich=lambda wildcards, input: " ".join(f"--enrich {quote(t)}" for t in input.enrich),
        truth=lambda wildcards, input: f"--truth {quote(input.truth)}" if input.truth else "",
        top=config["report"]["top_pathways"],
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
        "aprior report {input.runs:q} {params.enrich}"
        ' --compare "$(dirname {input.compare:q})" {params.truth} --top {params.top}'
        " -o {output:q} > {log:q} 2>&1"
