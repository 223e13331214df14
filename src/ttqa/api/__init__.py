"""HTTP API of ttqa: ``create_app(qa, settings)`` returns a FastAPI app (``ttqa api`` serves it).

See :mod:`ttqa.api.app` for the endpoints and :mod:`ttqa.api.errors` for the error bodies.
"""

from ttqa.api.app import ApiSettings, create_app
from ttqa.api.errors import ApiError

__all__ = ["ApiError", "ApiSettings", "create_app"]
