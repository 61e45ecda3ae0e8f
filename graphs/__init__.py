"""LangGraph state machines, loadable by path as ``langgraph.json`` lists them (``graphs/x.py:graph``)."""
