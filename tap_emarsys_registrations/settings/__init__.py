"""Settings: each declared once, parsed into frozen objects, and the JSON schema built from them.

Imports only the kernel (errors, fields). Nothing here sends a request.
"""
