"""The ``ttqa`` command (typer): :mod:`.main` holds ``index``, ``search``, ``ask``, ``eval`` and
``info``; :mod:`.serve` the chat; :mod:`.api` the HTTP API; :mod:`.options` the shared index options."""
