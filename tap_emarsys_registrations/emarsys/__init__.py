"""Talking to Emarsys: authentication, the HTTP client, rate limits, replies and exports.

Imports the kernel and ``settings``. It knows the API's requests and answers,
not CSV files or Singer.
"""
