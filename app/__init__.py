"""insar_ae dashboard (Panel): ``panel serve app/main.py`` or, in a notebook,
``from app.main import Dashboard; Dashboard()``."""
