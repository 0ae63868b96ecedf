"""One window from request to STATE: the plan, the concurrent pipeline, reading, progress.

The top of the stack below the stream: it uses ``emarsys``, ``delivery`` and
``records``, and nothing above it.
"""
