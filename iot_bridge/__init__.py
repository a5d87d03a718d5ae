"""MQTT bridge (SPEC §5): terminal status and machine time into the database.

Runs as `python -m iot_bridge` (its issue builds it). It imports models and services, never
views: the web screens, the bridge and scheduled jobs all call the same service layer.
"""
