"""`python -m iot_bridge --help`"""
import sys

from .bridge import main

sys.exit(main())
