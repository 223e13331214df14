"""What people and services use: the command line (:mod:`.cli`), the HTTP API (:mod:`.http`) and the
browser chat (:mod:`.chat`). Each only calls :class:`ttqa.QA`; no logic of its own lives here."""
