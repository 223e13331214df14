"""``python -m ttqa``: the ``ttqa`` command."""

from ttqa.interfaces.cli.main import main

main()
