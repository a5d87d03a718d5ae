"""The task consumer's entry point: `huey_consumer app.worker.huey --workers 2 --worker-type thread`.

It gives the task module (app/tasks.py) the application factory, so the tasks run in an app of their own
while the task module, which the web app imports to put work on the queue, never imports the app back.
"""
from app import create_app, tasks

tasks.use_app_factory(create_app)
huey = tasks.huey
