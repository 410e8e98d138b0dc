# Post-hoc expected gradients of each trained model on its held-out samples, and the global
# gene ranking (mean |EG| over those samples) the enrichment uses.


rule attribute:
    input:
        run="results/runs/{method}/lambda_{lam}/seed_{seed}",
        expression="results/preprocess/seed_{seed}/expression.tsv",
        labels=study("labels"),
    output:
        ranking="results/attribute/{method}/lambda_{lam}/seed_{seed}/ranking.tsv",
        attributions="results/attribute/{method}/lambda_{lam}/seed_{seed}/attributions.tsv",
    params:
        split=config["attribute"]["split"],
        n_samples=config["attribute"]["n_samples"],
        extra=config["attribute"]["extra"],
    threads: 1
    log:
        "logs/attribute/{method}/lambda_{lam}/seed_{seed}.log",
    benchmark:
        "benchmarks/attribute/{method}/lambda_{lam}/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior attribute {input.run} --expression {input.expression} --labels {input.labels}"
        " --split {params.split} --n-samples {params.n_samples} --seed {wildcards.seed}"
        " --threads {threads} {params.extra} -o $(dirname {output.ranking}) > {log} 2>&1"
