"""HTTP API of ttqa: ``create_app(qa, settings)`` returns a FastAPI app (``ttqa api`` serves it).

See :mod:`ttqa.interfaces.http.app` for the endpoints and :mod:`ttqa.interfaces.http.errors` for the
error bodies.
"""

from ttqa.interfaces.http.app import ApiSettings, create_app
from ttqa.interfaces.http.errors import ApiError

__all__ = ["ApiError", "ApiSettings", "create_app"]
