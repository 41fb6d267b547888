#!/usr/bin/env python
from recours.cli import main

if __name__ == "__main__":
    main()
