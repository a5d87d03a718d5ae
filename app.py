"""Launcher: `python app.py` serves the platform (the package `app/` holds the code).

`flask --app app ...` resolves to the package, not this file.
"""
import os

from app import create_app

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
