"""gunicorn settings read automatically when gunicorn starts in this folder.

Checking or importing a 500,000-row register takes about 45 s in one request (the import
page polls its progress meanwhile), longer than gunicorn's default 30 s worker timeout.

Threaded workers: a streamed download of millions of rows (GET /download/view.csv) runs
for minutes while the worker keeps answering its heartbeat and other requests; a sync
worker would be killed at ``timeout`` mid-download and block everyone behind it.
"""

worker_class = "gthread"
threads = 4
timeout = 300
