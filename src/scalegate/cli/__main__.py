import sys

from scalegate.cli import main

sys.exit(main())
