"""One small thread pool for work that overlaps within a query: the reader encodes its shortlisted
sentences on it while it featurises the candidate spans. ONNX Runtime releases the GIL, so on the
2-core machine the two halves run at the same time. (Encoding the question while BM25 runs was
measured too and did not pay: search p50 14.6-18.9 ms overlapped against 13.6-16.6 ms in turn, at
the 35,440 articles.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

BACKGROUND = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ttqa-overlap")
