# Paired comparison of the methods' chosen runs (pairs share seed and split): accuracy and
# the prior metrics, t-test and Wilcoxon against the baseline.


rule compare:
    input:
        runs=all_select_dirs(),
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
        "aprior compare {input.runs:q} --method-name-from dirname {params.baseline}"
        ' -o "$(dirname {output.table:q})" > {log:q} 2>&1'
