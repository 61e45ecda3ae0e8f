"""Retrieval for the retrieve node: database corpora behind LangChain's ``BaseRetriever``."""

from __future__ import annotations

from introspect.retrieval.corpus import CorpusRetriever, passages_from_documents

__all__ = ["CorpusRetriever", "passages_from_documents"]
