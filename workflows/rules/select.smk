# lambda chosen on validation, never on test: per method and seed, `aprior select` picks one
# run of the method's lambda grid by its validation loss (config select.rule; the test figures
# of every candidate are kept in selection.tsv for the record). A method without a prior has
# one candidate. Every later step (attribute, consensus, compare, report) uses the chosen run.


rule select:
    input:
        runs=grid_runs,
    output:
        directory("results/select/{method}/seed_{seed}"),
    params:
        rule=config["select"]["rule"],
    threads: rule_threads("select")
    resources:
        **rule_resources("select"),
    log:
        "logs/select/{method}/seed_{seed}.log",
    benchmark:
        "benchmarks/select/{method}/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior select {input.runs:q} --rule {params.rule} -o {output:q} > {log:q} 2>&1"
