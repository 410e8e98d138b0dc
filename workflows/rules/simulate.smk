# A synthetic study whose truth is known (only when inputs.source is "simulate").


rule simulate:
    output:
        counts=f"{SIMULATED}/counts.tsv",
        gene_lengths=f"{SIMULATED}/gene_lengths.tsv",
        annotation=f"{SIMULATED}/gene_annotation.tsv",
        edges=f"{SIMULATED}/edges.tsv.gz",
        labels=f"{SIMULATED}/labels.tsv",
        meta_features=f"{SIMULATED}/meta_features.tsv",
        gmt=f"{SIMULATED}/pathways.gmt",
        truth=f"{SIMULATED}/truth.json",
    params:
        seed=config["inputs"]["simulate"]["seed"],
        task=simulate_options(),
        extra=config["inputs"]["simulate"]["extra"],
    threads: rule_threads("simulate")
    resources:
        **rule_resources("simulate"),
    log:
        "logs/simulate.log",
    benchmark:
        "benchmarks/simulate.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        'aprior simulate -o "$(dirname {output.counts:q})" --seed {params.seed} {params.task}'
        " {params.extra} > {log:q} 2>&1"
