# Per seed: a train/val/test split of the labelled samples that have expression (patients never
# in two splits), then raw counts -> FPKM ->
# protein-coding filter -> zero filter -> log2 -> z-score fitted on that seed's training samples.


rule split:
    input:
        labels=study("labels"),
        expression=study("counts"),
    output:
        splits="results/splits/seed_{seed}/splits.tsv",
        train_samples="results/splits/seed_{seed}/train_samples.txt",
    params:
        method=config["split"]["method"],
        val=config["split"]["val_fraction"],
        test=config["split"]["test_fraction"],
        labels=label_options(split=True),
        layout=counts_layout_options(for_split=True),
    threads: rule_threads("split")
    resources:
        **rule_resources("split"),
    log:
        "logs/split/seed_{seed}.log",
    benchmark:
        "benchmarks/split/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior split {input.labels:q} {params.labels} --method {params.method}"
        " --expression {input.expression:q} {params.layout}"
        " --val-fraction {params.val} --test-fraction {params.test} --seed {wildcards.seed}"
        " -o {output.splits:q} --train-samples {output.train_samples:q} > {log:q} 2>&1"


rule preprocess:
    input:
        counts=study("counts"),
        gene_lengths=study("gene_lengths"),
        annotation=optional_study("annotation"),
        train_samples="results/splits/seed_{seed}/train_samples.txt",
    output:
        expression="results/preprocess/seed_{seed}/expression.tsv",
        report="results/preprocess/seed_{seed}/expression.report.json",
        scaler="results/preprocess/seed_{seed}/expression.scaler.json",
    params:
        options=preprocess_options,
        extra=config["preprocess"]["extra"],
    threads: rule_threads("preprocess")
    resources:
        **rule_resources("preprocess"),
    log:
        "logs/preprocess/seed_{seed}.log",
    benchmark:
        "benchmarks/preprocess/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior preprocess {input.counts:q} --lengths {input.gene_lengths:q}"
        " --train-samples {input.train_samples:q} {params.options} {params.extra}"
        " -o {output.expression:q} > {log:q} 2>&1"
