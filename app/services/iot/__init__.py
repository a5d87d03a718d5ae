"""IoT: terminal status, measured machine time, the plug interlock and its sweep."""
