import sys

from converter.cli.main import main

sys.exit(main())
