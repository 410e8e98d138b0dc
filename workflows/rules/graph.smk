# Per seed (the genes kept by preprocessing depend on the training samples): gene-gene edges ->
# sparse adjacency + Laplacian over the expression's genes, and the random control graph.


rule graph:
    input:
        edges=study_list("edges"),
        feature_edges=feature_edge_inputs(),
        mapping=mapping_inputs(),
        expression="results/preprocess/seed_{seed}/expression.tsv",
    output:
        "results/graph/seed_{seed}/graph.npz",
    params:
        edges=edge_options,
        mapping=mapping_options(),
        threshold=config["graph"]["threshold"],
        normalized="--normalized" if config["graph"]["normalized"] else "",
    threads: rule_threads("graph")
    resources:
        **rule_resources("graph"),
    log:
        "logs/graph/seed_{seed}/graph.log",
    benchmark:
        "benchmarks/graph/seed_{seed}/graph.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior graph {params.edges} {params.mapping} --expression {input.expression:q}"
        " --threshold {params.threshold} {params.normalized} -o {output:q} > {log:q} 2>&1"


rule random_graph:
    input:
        edges=study_list("edges"),
        feature_edges=feature_edge_inputs(),
        mapping=mapping_inputs(),
        expression="results/preprocess/seed_{seed}/expression.tsv",
    output:
        "results/graph/seed_{seed}/random.npz",
    params:
        edges=edge_options,
        mapping=mapping_options(),
        threshold=config["graph"]["threshold"],
        kind=config["graph"]["random"],
        normalized="--normalized" if config["graph"]["normalized"] else "",
    threads: rule_threads("random_graph")
    resources:
        **rule_resources("random_graph"),
    log:
        "logs/graph/seed_{seed}/random.log",
    benchmark:
        "benchmarks/graph/seed_{seed}/random.tsv"
    conda:
        "../envs/aprior.yaml"
    shell:
        "aprior graph {params.edges} {params.mapping} --expression {input.expression:q}"
        " --threshold {params.threshold} {params.normalized} --random {params.kind}"
        " --seed {wildcards.seed} -o {output:q} > {log:q} 2>&1"
