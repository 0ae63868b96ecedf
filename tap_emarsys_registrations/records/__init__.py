"""Turning export CSV into records: the streaming parser, casts, timestamps and the join.

Pure functions and small objects over bytes and rows; imports only the kernel.
"""
