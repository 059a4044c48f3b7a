import sys

from kernelcap.cli import main

sys.exit(main())
