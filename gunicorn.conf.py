"""gunicorn settings read automatically when gunicorn starts in this folder.

Checking or importing a 500,000-row register takes about 45 s in one request (the import
page polls its progress meanwhile), longer than gunicorn's default 30 s worker timeout.
"""

timeout = 300
