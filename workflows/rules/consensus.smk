# One model is an anecdote: per method, the consensus ranking over the seeds' chosen runs
# (mean of each run's normalised mean |EG|), per-gene rank intervals and top-K frequency, and
# the ensemble's stability (pairwise and split-half top-K Jaccard, EG Monte-Carlo share).


rule consensus:
    input:
        rankings=method_rankings,
    output:
        directory("results/consensus/{method}"),
    params:
        top_k=config["consensus"]["top_k"],
    threads: rule_threads("consensus")
    resources:
        **rule_resources("consensus"),
    log:
        "logs/consensus/{method}.log",
    benchmark:
        "benchmarks/consensus/{method}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior consensus {input.rankings:q} --name {wildcards.method}"
        " --top-k {params.top_k} -o {output:q} > {log:q} 2>&1"
