# One training run per method x lambda x seed (the jobs a cluster fans out). --resume: a
# requeued or retried job continues its checkpoint (<run>.partial/) instead of starting over,
# and starts afresh when there is none.


rule train:
    input:
        unpack(train_inputs),
    output:
        directory("results/runs/{method}/lambda_{lam}/seed_{seed}"),
    params:
        options=train_options,
    threads: rule_threads("train")
    resources:
        **rule_resources("train"),
    log:
        "logs/train/{method}/lambda_{lam}/seed_{seed}.log",
    benchmark:
        "benchmarks/train/{method}/lambda_{lam}/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior train --expression {input.expression:q} --labels {input.labels:q}"
        " --split file --split-file {input.splits:q} --eval-graph {input.eval_graph:q}"
        " {params.options} --seed {wildcards.seed} --threads {threads} --resume"
        " -o {output:q} > {log:q} 2>&1"
