# Post-hoc expected gradients of each method's chosen run (per seed) on its held-out samples,
# the global gene ranking (mean |EG|) and the Monte-Carlo standard error of every attribution
# (--stderr: what part of the spread between seeds is EG noise).


rule attribute:
    input:
        run="results/select/{method}/seed_{seed}",
        expression="results/preprocess/seed_{seed}/expression.tsv",
        labels=study("labels"),
    output:
        ranking="results/attribute/{method}/seed_{seed}/ranking.tsv",
        attributions="results/attribute/{method}/seed_{seed}/attributions.tsv",
    params:
        split=config["attribute"]["split"],
        n_samples=config["attribute"]["n_samples"],
        extra=config["attribute"]["extra"],
    threads: rule_threads("attribute")
    resources:
        **rule_resources("attribute"),
    log:
        "logs/attribute/{method}/seed_{seed}.log",
    benchmark:
        "benchmarks/attribute/{method}/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior attribute {input.run:q} --expression {input.expression:q}"
        " --labels {input.labels:q} --split {params.split} --n-samples {params.n_samples}"
        " --stderr --seed {wildcards.seed} --threads {threads} --resume {params.extra}"
        ' -o "$(dirname {output.ranking:q})" > {log:q} 2>&1'
