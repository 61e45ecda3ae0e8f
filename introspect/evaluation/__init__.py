"""``introspect eval``: RISE's metrics for one or more models on a held-out dataset, measured by
running the real graph through the runner (issue 18), so the gate's behaviour is part of the result.

``jobs`` runs the dataset as batches (one per model and mode) in an evaluation database; ``collect``
reads the attempts back; ``metrics`` computes turn-1 accuracy, p1@t5, m1@t5, accuracy per turn,
mean turns, tokens per solved task and AUROC per uncertainty metric; ``plots`` draws the PNGs.
"""
