"""Run the atlas: ``python app.py`` (development server) or ``gunicorn app:server``."""

from components.app import create_app
from twinning import settings

app = create_app()
server = app.server

if __name__ == "__main__":
    app.run(
        host=settings.get("TWINNING_HOST"),
        port=settings.get_int("TWINNING_PORT"),
        debug=settings.get_bool("TWINNING_DEBUG"),
    )
