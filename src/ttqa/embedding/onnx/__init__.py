"""The embedder on ONNX Runtime: export and int8 quantisation cached on disk (:mod:`.export_cache`),
exact graph simplification (:mod:`.graph`), CPU sessions (:mod:`.session`), the embedder
(:mod:`.embedder`)."""
