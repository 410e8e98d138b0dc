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
    threads: rule_threads("attribute")
    resources:
        **rule_resources("attribute"),
    log:
        "logs/attribute/{method}/lambda_{lam}/seed_{seed}.log",
    benchmark:
        "benchmarks/attribute/{method}/lambda_{lam}/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior attribute {input.run:q} --expression {input.expression:q}"
        " --labels {input.labels:q} --split {params.split} --n-samples {params.n_samples}"
        " --seed {wildcards.seed} --threads {threads} --resume {params.extra}"
        ' -o "$(dirname {output.ranking:q})" > {log:q} 2>&1'
