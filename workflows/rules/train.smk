# One training run per method x lambda x seed (the jobs a cluster fans out; GPUs in the
# SLURM profile).


rule train:
    input:
        unpack(train_inputs),
    output:
        directory("results/runs/{method}/lambda_{lam}/seed_{seed}"),
    params:
        options=train_options,
    threads: 1
    log:
        "logs/train/{method}/lambda_{lam}/seed_{seed}.log",
    benchmark:
        "benchmarks/train/{method}/lambda_{lam}/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior train --expression {input.expression} --labels {input.labels}"
        " --split file --split-file {input.splits} --eval-graph {input.eval_graph}"
        " {params.options} --seed {wildcards.seed} --threads {threads} -o {output}"
        " > {log} 2>&1"
