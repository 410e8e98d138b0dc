# Post-hoc expected gradients of each trained model and its global gene ranking.


rule attribute:
    input:
        run="results/runs/{method}/lambda_{lam}/seed_{seed}",
        expression="results/preprocess/seed_{seed}/expression.tsv",
    output:
        ranking="results/attribute/{method}/lambda_{lam}/seed_{seed}/ranking.tsv",
    params:
        extra=config["attribute"]["extra"],
    threads: 1
    log:
        "logs/attribute/{method}/lambda_{lam}/seed_{seed}.log",
    benchmark:
        "benchmarks/attribute/{method}/lambda_{lam}/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior attribute {input.run} --expression {input.expression} {params.extra}"
        " --threads {threads} -o $(dirname {output.ranking}) > {log} 2>&1"
