# Pathway enrichment (GSEA prerank and over-representation of the top genes) of each run's
# gene ranking.


rule enrich:
    input:
        ranking="results/attribute/{method}/lambda_{lam}/seed_{seed}/ranking.tsv",
        gmt=study("gmt"),
    output:
        prerank="results/enrich/{method}/lambda_{lam}/seed_{seed}/ranking.prerank.tsv",
        ora="results/enrich/{method}/lambda_{lam}/seed_{seed}/ranking.ora.tsv",
    params:
        top_k=config["enrich"]["top_k"],
        permutations=config["enrich"]["permutations"],
        min_size=config["enrich"]["min_size"],
        extra=config["enrich"]["extra"],
    threads: rule_threads("enrich")
    resources:
        **rule_resources("enrich"),
    log:
        "logs/enrich/{method}/lambda_{lam}/seed_{seed}.log",
    benchmark:
        "benchmarks/enrich/{method}/lambda_{lam}/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior enrich {input.ranking:q} --gmt {input.gmt:q} --method prerank,ora"
        " --top-k {params.top_k} --permutations {params.permutations}"
        " --min-size {params.min_size} --seed {wildcards.seed} --threads {threads}"
        ' {params.extra} -o "$(dirname {output.prerank:q})" > {log:q} 2>&1'
