"""facealign's benchmarks: scripts that print markdown tables (what each measures, the commands and the
last tables: ``benchmarks/README.md``).

A package, so that one benchmark uses another's helpers with a plain import (``from benchmarks.peers import
dlib_method``, ``from benchmarks.hih_table5 import load_trainer``) and the tests import them the same way.
Run each from the repository root as a module, which puts the root on ``sys.path``::

    .venv/bin/python -m benchmarks.latency --repeats 20

Library features (readers, timing, evaluation, thread and detector set-up) come from ``facealign``; what
lives here is only what the benchmarks need and the library does not offer (the peer runners of
``peers.py``, the trainer-loading helpers of ``hih_table5.py``). Not part of the installed package.
"""
