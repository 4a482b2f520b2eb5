"""``python -m s3dlio``: the ``s3-cli`` command line."""

from __future__ import annotations

from s3dlio.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
