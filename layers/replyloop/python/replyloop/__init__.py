"""replyloop: make an AI support assistant learn from the agents who correct it.

Layers, arrows one way: ``handlers`` -> ``services`` -> ``domain`` (pure) and ``adapters``
(DynamoDB and friends behind small interfaces); ``models`` sit at the boundaries. ``local`` and
``cli`` are clients of the same code, never a second implementation.
"""

__version__ = "0.1.0"
