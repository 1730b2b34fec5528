"""``python -m cosearch.cli``: the same as the ``cosearch`` console script."""

from . import main

main()
