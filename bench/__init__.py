"""Performance suite: a synthetic dataset at scale and the page measurements over it.

``manage.py build_dataset --size 100k`` fills an empty database (``bench.dataset``);
``manage.py bench_pages`` measures every main page in-process, or under load through
gunicorn and wrk with ``--load`` (``bench.measure``, ``bench.load``).
"""
