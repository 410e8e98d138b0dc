# Paired comparison of every run (methods x lambdas x seeds; pairs share seed and split).


rule compare:
    input:
        runs=all_run_dirs(),
    output:
        table="results/compare/comparison.tsv",
        tests="results/compare/paired_tests.tsv",
        runs="results/compare/runs.tsv",
        plot="results/compare/comparison.png",
    params:
        baseline=compare_baseline(),
    log:
        "logs/compare.log",
    benchmark:
        "benchmarks/compare.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior compare {input.runs} {params.baseline} -o $(dirname {output.table}) > {log} 2>&1"
