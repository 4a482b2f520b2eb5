"""s3dlio-s3: the ``s3://`` backend of s3dlio, on boto3.

Importing this package imports nothing heavy; boto3 is imported when the first
``s3://`` store is opened.
"""

__version__ = "0.1.0"
