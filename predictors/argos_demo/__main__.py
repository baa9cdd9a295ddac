import sys

from argos_demo.cli import main

sys.exit(main())
