"""Edges: storage (and later queues, files, LLMs) behind small interfaces."""
