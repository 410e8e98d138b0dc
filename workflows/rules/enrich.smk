# Pathway enrichment of each method's consensus ranking: GSEA prerank and over-representation
# of the top genes, q-values per GMT file.


rule enrich:
    input:
        consensus="results/consensus/{method}",
        gmt=study_list("gmt"),
    output:
        prerank="results/enrich/{method}/ranking.prerank.tsv",
        ora="results/enrich/{method}/ranking.ora.tsv",
    params:
        gmt=lambda wildcards, input: repeated("--gmt", input.gmt),
        top_k=config["enrich"]["top_k"],
        permutations=config["enrich"]["permutations"],
        min_size=config["enrich"]["min_size"],
        extra=config["enrich"]["extra"],
    threads: rule_threads("enrich")
    resources:
        **rule_resources("enrich"),
    log:
        "logs/enrich/{method}.log",
    benchmark:
        "benchmarks/enrich/{method}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        'aprior enrich "{input.consensus}/ranking.tsv" {params.gmt} --method prerank,ora'
        " --top-k {params.top_k} --permutations {params.permutations}"
        " --min-size {params.min_size} --seed 0 --threads {threads}"
        ' {params.extra} -o "$(dirname {output.prerank:q})" > {log:q} 2>&1'
