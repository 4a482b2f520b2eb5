"""s3dlio-checkpoint: checkpoints on every backend, and ``s3dlio.dcp`` for torch.distributed.checkpoint.

The names (``CheckpointStore``, ``save_checkpoint``, ...) are served as ``s3dlio.<name>``
through the exports hook; importing this package imports nothing heavy.
"""

from __future__ import annotations

__version__ = "0.1.0"
