import sys

from cepengine.cli import main

sys.exit(main())
