# Paired comparison of every run (methods x lambdas x seeds).


rule compare:
    input:
        runs=all_run_dirs(),
    output:
        directory("results/compare"),
    log:
        "logs/compare.log",
    benchmark:
        "benchmarks/compare.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior compare {input.runs} -o {output} > {log} 2>&1"
