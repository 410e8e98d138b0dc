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
    threads: rule_threads("compare")
    resources:
        **rule_resources("compare"),
    log:
        "logs/compare.log",
    benchmark:
        "benchmarks/compare.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior compare {input.runs:q} {params.baseline}"
        ' -o "$(dirname {output.table:q})" > {log:q} 2>&1'
