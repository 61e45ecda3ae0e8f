"""Datasets in: one job per row of a dataset, grouped in a named, resumable batch (issue 18).

``dataset`` reads rows (JSONL: ``prompt`` or ``messages``, or a public data set's own columns);
``service`` opens or continues a batch and reports on it; ``inline`` runs a batch's jobs in this
process through the same worker engine ``introspect serve`` uses.
"""

from introspect.batches.dataset import (
    DatasetError,
    DatasetRow,
    ReadDataset,
    parse_columns,
    read_dataset,
    rows_from,
)
from introspect.batches.service import (
    BatchConflictError,
    BatchNotFoundError,
    BatchSummary,
    OpenedBatch,
    cancel_batch,
    get_batch,
    list_batches,
    open_batch,
)

__all__ = [
    "BatchConflictError",
    "BatchNotFoundError",
    "BatchSummary",
    "DatasetError",
    "DatasetRow",
    "OpenedBatch",
    "ReadDataset",
    "cancel_batch",
    "get_batch",
    "list_batches",
    "open_batch",
    "parse_columns",
    "read_dataset",
    "rows_from",
]
