# Per seed: a train/val/test split (patients never in two splits), then raw counts -> FPKM ->
# protein-coding filter -> zero filter -> log2 -> z-score fitted on that seed's training samples.


rule split:
    input:
        labels=study("labels"),
    output:
        splits="results/splits/seed_{seed}/splits.tsv",
        train_samples="results/splits/seed_{seed}/train_samples.txt",
    params:
        method=config["split"]["method"],
        val=config["split"]["val_fraction"],
        test=config["split"]["test_fraction"],
    log:
        "logs/split/seed_{seed}.log",
    benchmark:
        "benchmarks/split/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior split {input.labels} --method {params.method}"
        " --val-fraction {params.val} --test-fraction {params.test} --seed {wildcards.seed}"
        " -o {output.splits} --train-samples {output.train_samples} > {log} 2>&1"


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
    log:
        "logs/preprocess/seed_{seed}.log",
    benchmark:
        "benchmarks/preprocess/seed_{seed}.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior preprocess {input.counts} --lengths {input.gene_lengths}"
        " --train-samples {input.train_samples} {params.options} {params.extra}"
        " -o {output.expression} > {log} 2>&1"
